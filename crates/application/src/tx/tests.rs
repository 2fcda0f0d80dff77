//! One transaction per unit of work: committed on `Ok`, rolled back on `Err`, and a runner
//! that never runs the work is an error, not a silent success.

use erp_domain::ports::{
    NewClient, RepoError, Rollback, TransactionMode, TransactionRunner, UnitOfWork,
};

use super::transaction;
use crate::AppError;
use crate::fakes::FakeDb;
use crate::fakes::ports::start;

fn add_client(uow: &mut dyn UnitOfWork) -> Result<(), RepoError> {
    uow.insert_client(&NewClient {
        nom_entreprise: "SA".into(),
        email: None,
        now: start(),
    })
    .map(|_| ())
}

#[test]
fn ok_commits_and_err_rolls_back() {
    let db = FakeDb::default();
    let ok: Result<i32, AppError> = transaction(&db, TransactionMode::ReadWrite, |uow| {
        add_client(uow)?;
        Ok(7)
    });
    assert_eq!(ok, Ok(7));
    let err: Result<(), AppError> = transaction(&db, TransactionMode::ReadWrite, |uow| {
        add_client(uow)?;
        Err(AppError::conflict("non".into()))
    });
    assert_eq!(err, Err(AppError::conflict("non".into())));
    assert_eq!(
        db.snapshot().clients.len(),
        1,
        "the second write was rolled back"
    );
}

/// A runner that answers without running the work.
#[derive(Debug)]
struct Lazy;

impl TransactionRunner for Lazy {
    fn run_in_transaction(
        &self,
        _: TransactionMode,
        _: &mut dyn FnMut(&mut dyn UnitOfWork) -> Result<(), Rollback>,
    ) -> Result<(), RepoError> {
        Ok(())
    }
}

/// A runner that runs the work twice (a retrying driver).
#[derive(Debug, Default)]
struct Twice(FakeDb);

impl TransactionRunner for Twice {
    fn run_in_transaction(
        &self,
        mode: TransactionMode,
        work: &mut dyn FnMut(&mut dyn UnitOfWork) -> Result<(), Rollback>,
    ) -> Result<(), RepoError> {
        self.0.run_in_transaction(mode, work)?;
        self.0.run_in_transaction(mode, work)
    }
}

#[test]
fn a_runner_that_skips_the_work_is_an_error() {
    let res: Result<(), AppError> = transaction(&Lazy, TransactionMode::ReadOnly, |_| Ok(()));
    assert!(matches!(res, Err(AppError::Internal(m)) if m.contains("did not run")));
}

#[test]
fn the_work_runs_at_most_once() {
    let db = Twice::default();
    let mut runs = 0;
    let res: Result<(), AppError> = transaction(&db, TransactionMode::ReadWrite, |uow| {
        runs += 1;
        Ok(add_client(uow)?)
    });
    assert_eq!(res, Ok(()));
    assert_eq!(runs, 1);
    assert_eq!(db.0.snapshot().clients.len(), 1);
}
