//! First run (D2): on an empty database, create the bootstrap `admin` account.

use erp_domain::UserId;
use erp_domain::clock::Clock;
use erp_domain::password::{self, PlainPassword};
use erp_domain::ports::{PasswordHasher, SecretGenerator, TransactionMode, TransactionRunner};
use erp_domain::user::{Email, FullName, NewUser, UserRole, Username};

use crate::error::AppError;
use crate::tx::transaction;

/// Identity of the bootstrap administrator.
#[derive(Debug, Clone)]
pub struct BootstrapAdmin {
    /// Login name (`admin` by default).
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Password from `ERP_BOOTSTRAP_ADMIN_PASSWORD`; generated when `None`.
    pub password: Option<PlainPassword>,
}

/// What the bootstrap did.
#[derive(Debug)]
pub enum BootstrapOutcome {
    /// The database already had users: nothing was created.
    AlreadyInitialised,
    /// The admin was created. `generated_password` is set when the password was generated and
    /// must be shown once to the operator.
    Created {
        /// Id of the new admin.
        id: UserId,
        /// The generated password, when none was provided.
        generated_password: Option<PlainPassword>,
    },
}

/// Ports the bootstrap needs.
#[derive(Debug, Clone, Copy)]
pub struct BootstrapDeps<'a> {
    /// Database.
    pub db: &'a dyn TransactionRunner,
    /// Hasher for the password.
    pub hasher: &'a dyn PasswordHasher,
    /// Source of random passwords.
    pub secrets: &'a dyn SecretGenerator,
    /// Clock.
    pub clock: &'a dyn Clock,
}

/// Creates the bootstrap admin when the `users` table is empty; does nothing otherwise.
///
/// # Errors
/// [`AppError::Validation`] when the provided identity or password breaks the rules (the
/// password policy included); storage errors.
pub fn ensure_bootstrap_admin(
    deps: BootstrapDeps<'_>,
    admin: BootstrapAdmin,
) -> Result<BootstrapOutcome, AppError> {
    let username = Username::parse("username", &admin.username)?;
    let email = Email::parse("email", &admin.email)?;
    let (plain, generated) = match admin.password {
        Some(p) => (p, false),
        None => (deps.secrets.strong_password(), true),
    };
    if let Err(violations) = password::check_policy("password", &plain) {
        return Err(AppError::Validation {
            message: Some(password::policy_message(&violations)),
            violations,
        });
    }
    // Hash before opening the transaction: the slow part never holds a database lock.
    let hash = deps.hasher.hash(&plain)?;
    let now = deps.clock.now();
    let created = transaction(deps.db, TransactionMode::ReadWrite, |uow| {
        if uow.count_users()? > 0 {
            return Ok::<_, AppError>(None);
        }
        let user = uow.insert_user(&NewUser {
            username,
            email,
            full_name: Some(FullName::parse("full_name", "Administrateur")?),
            password_hash: hash,
            role: UserRole::Admin,
            is_active: true,
            client_id: None,
            now,
        })?;
        Ok(Some(user.id))
    })?;
    Ok(match created {
        None => BootstrapOutcome::AlreadyInitialised,
        Some(id) => {
            tracing::info!(user_id = id.get(), "bootstrap admin account created");
            BootstrapOutcome::Created {
                id,
                generated_password: generated.then_some(plain),
            }
        }
    })
}
