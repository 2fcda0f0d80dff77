//! Running a use case's body in one transaction and getting its typed result back.

use erp_domain::ports::{RepoError, Rollback, TransactionMode, TransactionRunner, UnitOfWork};

/// Runs `work` in one transaction: commit on `Ok`, roll back on `Err`.
///
/// # Errors
/// The error `work` returned (after rollback), or the storage error of opening or committing.
pub fn transaction<T, E>(
    db: &dyn TransactionRunner,
    mode: TransactionMode,
    work: impl FnOnce(&mut dyn UnitOfWork) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<RepoError>,
{
    let mut work = Some(work);
    let mut outcome: Option<Result<T, E>> = None;
    db.run_in_transaction(mode, &mut |uow| {
        let Some(body) = work.take() else {
            // The runner called us twice: refuse rather than silently run nothing.
            return Err(Rollback);
        };
        let result = body(uow);
        let failed = result.is_err();
        outcome = Some(result);
        if failed { Err(Rollback) } else { Ok(()) }
    })?;
    outcome.unwrap_or_else(|| {
        Err(E::from(RepoError::Other(
            "transaction runner did not run the unit of work".into(),
        )))
    })
}

#[cfg(test)]
mod tests;
