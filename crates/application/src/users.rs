//! User administration and self-service (API.md §3.3).

use erp_domain::audit::{AuditContext, AuditEventType};
use erp_domain::list::{Listed, Page, SortKey};
use erp_domain::password::PlainPassword;
use erp_domain::ports::{NewClient, RepoError, TransactionMode, UniqueKey, UnitOfWork};
use erp_domain::session::RevocationReason;
use erp_domain::user::{Email, FullName, NewUser, UserFilter, UserRole, UserSortField, Username};
use erp_domain::{ClientId, FieldViolation, Timestamp, User, UserId, ViolationCode};
use serde_json::json;

use crate::app::{Application, Audit, AuditLog, Caller, Outcome};
use crate::authz::{Action, authorize};
use crate::error::AppError;
use crate::tx::transaction;

/// `POST /users`.
#[derive(Debug, Clone)]
pub struct CreateUser {
    /// Login name.
    pub username: Username,
    /// Display name.
    pub full_name: FullName,
    /// E-mail.
    pub email: Email,
    /// Role.
    pub role: UserRole,
    /// Initial password (policy checked here).
    pub password: PlainPassword,
    /// Active flag.
    pub is_active: bool,
    /// Client account (role `client` only).
    pub client_id: Option<ClientId>,
}

/// `PUT`/`PATCH /users/{id}`: absent fields are unchanged; `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct UpdateUser {
    /// New login name.
    pub username: Option<Username>,
    /// New display name, or cleared.
    pub full_name: Option<Option<FullName>>,
    /// New e-mail.
    pub email: Option<Email>,
    /// New role.
    pub role: Option<UserRole>,
    /// Activate or deactivate.
    pub is_active: Option<bool>,
    /// Password reset (no current password).
    pub password: Option<PlainPassword>,
    /// Client account, or cleared.
    pub client_id: Option<Option<ClientId>>,
}

/// `PUT /users/update` (self-service).
#[derive(Debug, Clone, Default)]
pub struct UpdateMe {
    /// New display name, or cleared.
    pub full_name: Option<Option<FullName>>,
    /// New password and the current one.
    pub password: Option<(PlainPassword, PlainPassword)>,
}

const USER_NOT_FOUND: &str = "Utilisateur non trouvé.";
const CLIENT_NOT_FOUND: &str = "Compte client introuvable";
const LAST_ADMIN: &str = "Impossible de retirer le dernier administrateur actif";

fn user_not_found() -> AppError {
    AppError::NotFound(USER_NOT_FOUND.into())
}

fn duplicate(key: UniqueKey) -> AppError {
    match key {
        UniqueKey::Email => AppError::conflict("Email déjà utilisé.".into()),
        UniqueKey::Username => AppError::conflict("Username déjà utilisé.".into()),
        UniqueKey::Other
        | UniqueKey::EquipementNom
        | UniqueKey::NumeroSerie
        | UniqueKey::CodeInterne
        | UniqueKey::CompetenceNom
        | UniqueKey::NumeroBadge
        | UniqueKey::TechnicienUser => {
            AppError::conflict("Conflit avec une donnée existante".into())
        }
    }
}

fn map_write(e: RepoError) -> AppError {
    match e {
        RepoError::Duplicate(key) => duplicate(key),
        RepoError::ForeignKey => AppError::NotFound(CLIENT_NOT_FOUND.into()),
        other => other.into(),
    }
}

/// 409 when another user holds the e-mail or the username (e-mail checked first).
fn check_unique(
    uow: &mut dyn UnitOfWork,
    id: Option<UserId>,
    email: &Email,
    username: &Username,
) -> Result<(), AppError> {
    if uow
        .user_by_email(email.as_str())?
        .is_some_and(|u| Some(u.id) != id)
    {
        return Err(duplicate(UniqueKey::Email));
    }
    if uow
        .user_by_username_norm(&username.normalized())?
        .is_some_and(|u| Some(u.id) != id)
    {
        return Err(duplicate(UniqueKey::Username));
    }
    Ok(())
}

fn client_only() -> AppError {
    AppError::Invalid {
        message: None,
        violations: vec![FieldViolation::new(
            "client_id",
            ViolationCode::InvalidValue,
            "Réservé au rôle client",
        )],
    }
}

/// The client account a `client` user ends up with: the given one (must exist), the current
/// one, or a new account named after the user.
fn resolve_client(
    uow: &mut dyn UnitOfWork,
    wanted: Option<ClientId>,
    user_name: &str,
    email: &Email,
    now: Timestamp,
) -> Result<ClientId, AppError> {
    if let Some(id) = wanted {
        return if uow.client_exists(id)? {
            Ok(id)
        } else {
            Err(AppError::NotFound(CLIENT_NOT_FOUND.into()))
        };
    }
    Ok(uow.insert_client(&NewClient {
        nom_entreprise: user_name.chars().take(255).collect(),
        email: Some(email.as_str().to_owned()),
        now,
    })?)
}

fn admin_action(
    caller: &Caller,
    ctx: &AuditContext,
    now: Timestamp,
    target: UserId,
    action: &str,
) -> Audit {
    Audit::new(AuditEventType::AdminAction, true, ctx, now)
        .user(caller.user.id, caller.user.username.as_str())
        .resource(format!("user:{target}"))
        .action(action)
}

impl Application {
    /// `POST /users`.
    ///
    /// # Errors
    /// 403, 422 (policy), 404 client account, 409 e-mail / username.
    pub fn create_user(
        &self,
        caller: &Caller,
        cmd: CreateUser,
        ctx: &AuditContext,
    ) -> Result<User, AppError> {
        authorize(caller.user.role, Action::ManageUsers)?;
        if cmd.client_id.is_some() && cmd.role != UserRole::Client {
            return Err(client_only());
        }
        self.check_policy("password", &cmd.password, None, ctx)?;
        let hash = self.hash(&cmd.password)?;
        let now = self.ports.clock.now();
        self.audited(|uow, log| {
            let client_id = match cmd.role {
                UserRole::Client => Some(resolve_client(
                    uow,
                    cmd.client_id,
                    cmd.full_name.as_str(),
                    &cmd.email,
                    now,
                )?),
                _ => None,
            };
            check_unique(uow, None, &cmd.email, &cmd.username)?;
            let user = uow
                .insert_user(&NewUser {
                    username: cmd.username,
                    email: cmd.email,
                    full_name: Some(cmd.full_name),
                    password_hash: hash,
                    role: cmd.role,
                    is_active: cmd.is_active,
                    client_id,
                    now,
                })
                .map_err(map_write)?;
            log.push(
                uow,
                admin_action(caller, ctx, now, user.id, "create")
                    .details(json!({"role": user.role.as_str()})),
            )?;
            Ok(Outcome::Done(user))
        })
    }

    /// `GET /users`.
    ///
    /// # Errors
    /// 403.
    pub fn list_users(
        &self,
        caller: &Caller,
        filter: &UserFilter,
        sort: &[SortKey<UserSortField>],
        page: Page,
    ) -> Result<Listed<User>, AppError> {
        authorize(caller.user.role, Action::ManageUsers)?;
        transaction(self.ports.db.as_ref(), TransactionMode::Autocommit, |uow| {
            Ok(uow.list_users(filter, sort, page)?)
        })
    }

    /// `GET /users/{id}`.
    ///
    /// # Errors
    /// 403, 404.
    pub fn get_user(&self, caller: &Caller, id: UserId) -> Result<User, AppError> {
        authorize(caller.user.role, Action::ManageUsers)?;
        transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
            uow.user_by_id(id)?.ok_or_else(user_not_found)
        })
    }

    fn refuse_last_admin(
        uow: &mut dyn UnitOfWork,
        before: &User,
        after: &User,
    ) -> Result<(), AppError> {
        let was_active_admin = before.is_active && before.role == UserRole::Admin;
        let still = after.is_active && after.role == UserRole::Admin;
        if was_active_admin && !still && uow.count_active_admins()? <= 1 {
            return Err(AppError::conflict(LAST_ADMIN.into()));
        }
        Ok(())
    }

    /// `PUT`/`PATCH /users/{id}`.
    ///
    /// # Errors
    /// 403, 422, 404 user / client account, 409 conflicts and last admin.
    pub fn update_user(
        &self,
        caller: &Caller,
        id: UserId,
        cmd: UpdateUser,
        ctx: &AuditContext,
    ) -> Result<User, AppError> {
        authorize(caller.user.role, Action::ManageUsers)?;
        if let Some(password) = &cmd.password {
            self.check_policy("password", password, None, ctx)?;
        }
        let hash = cmd.password.as_ref().map(|p| self.hash(p)).transpose()?;
        let now = self.ports.clock.now();
        self.audited(|uow, log| {
            // Concurrent role and activity changes are decided one after the other, each on
            // the row as the previous one left it (the last-admin rule included).
            uow.lock_user_administration()?;
            let before = uow.user_by_id_for_update(id)?.ok_or_else(user_not_found)?;
            let mut after = before.clone();
            if let Some(role) = cmd.role {
                after.role = role;
            }
            match (after.role, cmd.client_id) {
                (UserRole::Client, wanted) => {
                    let wanted = wanted
                        .flatten()
                        .or(before.client_id.filter(|_| cmd.client_id.is_none()));
                    let name = cmd
                        .full_name
                        .clone()
                        .flatten()
                        .or_else(|| before.full_name.clone());
                    let name = name
                        .as_ref()
                        .map_or(before.username.as_str(), FullName::as_str)
                        .to_owned();
                    after.client_id = Some(resolve_client(
                        uow,
                        wanted,
                        &name,
                        cmd.email.as_ref().unwrap_or(&before.email),
                        now,
                    )?);
                }
                (_, Some(Some(_))) => return Err(client_only()),
                (_, _) => after.client_id = None,
            }
            if let Some(username) = cmd.username {
                after.username = username;
            }
            if let Some(full_name) = cmd.full_name {
                after.full_name = full_name;
            }
            if let Some(email) = cmd.email {
                after.email = email;
            }
            if let Some(active) = cmd.is_active {
                after.is_active = active;
            }
            if let Some(hash) = hash {
                after.password_hash = hash;
                after.password_changed_at = now;
            }
            check_unique(uow, Some(id), &after.email, &after.username)?;
            Self::refuse_last_admin(uow, &before, &after)?;
            if before.role == UserRole::Technicien
                && after.role != UserRole::Technicien
                && uow.technicien_id_of_user(id)?.is_some()
            {
                return Err(AppError::conflict(
                    "Utilisateur lié à une fiche technicien : rôle non modifiable".into(),
                ));
            }
            after.updated_at = now;
            uow.update_user(&after).map_err(map_write)?;
            self.record_user_changes(
                uow,
                log,
                caller,
                &before,
                &after,
                cmd.password.is_some(),
                ctx,
                now,
            )?;
            Ok(Outcome::Done(after))
        })
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one audit step with its whole context"
    )]
    fn record_user_changes(
        &self,
        uow: &mut dyn UnitOfWork,
        log: &mut AuditLog,
        caller: &Caller,
        before: &User,
        after: &User,
        password_reset: bool,
        ctx: &AuditContext,
        now: Timestamp,
    ) -> Result<(), AppError> {
        let mut actions = Vec::new();
        if before.role != after.role {
            self.end_sessions(uow, log, after, RevocationReason::RoleChanged, ctx, now)?;
            actions.push((
                "role_change",
                json!({"from": before.role.as_str(), "to": after.role.as_str()}),
            ));
        }
        if password_reset {
            self.end_sessions(uow, log, after, RevocationReason::PasswordChanged, ctx, now)?;
            log.push(
                uow,
                Audit::new(AuditEventType::PasswordChanged, true, ctx, now)
                    .user(caller.user.id, caller.user.username.as_str())
                    .resource(format!("user:{}", after.id))
                    .action("reset"),
            )?;
            actions.push(("password_reset", json!({})));
        }
        if before.is_active && !after.is_active {
            self.end_sessions(uow, log, after, RevocationReason::UserDeactivated, ctx, now)?;
            actions.push(("deactivate", json!({})));
        }
        if !before.is_active && after.is_active {
            actions.push(("activate", json!({})));
        }
        let profile_changed = before.username != after.username
            || before.email != after.email
            || before.full_name != after.full_name
            || before.client_id != after.client_id;
        if profile_changed || actions.is_empty() {
            actions.push(("update", json!({})));
        }
        for (action, details) in actions {
            log.push(
                uow,
                admin_action(caller, ctx, now, after.id, action).details(details),
            )?;
        }
        Ok(())
    }

    /// `DELETE /users/{id}`: soft delete, idempotent.
    ///
    /// # Errors
    /// 403, 404, 409 last admin.
    pub fn deactivate_user(
        &self,
        caller: &Caller,
        id: UserId,
        ctx: &AuditContext,
    ) -> Result<(), AppError> {
        let cmd = UpdateUser {
            is_active: Some(false),
            ..UpdateUser::default()
        };
        self.update_user(caller, id, cmd, ctx).map(|_| ())
    }

    /// `PATCH /users/{id}/activate`, idempotent.
    ///
    /// # Errors
    /// 403, 404.
    pub fn activate_user(
        &self,
        caller: &Caller,
        id: UserId,
        ctx: &AuditContext,
    ) -> Result<User, AppError> {
        self.update_user(
            caller,
            id,
            UpdateUser {
                is_active: Some(true),
                ..UpdateUser::default()
            },
            ctx,
        )
    }

    /// `PUT /users/update`.
    ///
    /// # Errors
    /// 422 (policy), 429 lockout, 400 wrong current password.
    pub fn update_me(
        &self,
        caller: &Caller,
        cmd: UpdateMe,
        ctx: &AuditContext,
    ) -> Result<User, AppError> {
        let hash = match &cmd.password {
            Some((new, current)) => {
                self.check_policy("password", new, Some(&caller.user), ctx)?;
                self.verify_current_password(caller, current, ctx)?;
                Some(self.hash(new)?)
            }
            None => None,
        };
        let now = self.ports.clock.now();
        self.audited(|uow, log| {
            // The row as it is now, locked: an administrator's concurrent deactivation or role
            // change is either seen here or waits for this write, never undone by it.
            let mut user = uow
                .user_by_id_for_update(caller.user.id)?
                .ok_or_else(user_not_found)?;
            if !user.is_active {
                return Ok(Outcome::Refused(AppError::Unauthenticated(
                    crate::AuthFailure::UserDeactivated,
                )));
            }
            if let Some(full_name) = cmd.full_name {
                user.full_name = full_name;
            }
            let changed_password = hash.is_some();
            if let Some(hash) = hash {
                user.password_hash = hash;
                user.password_changed_at = now;
            }
            user.updated_at = now;
            uow.update_user(&user).map_err(map_write)?;
            if changed_password {
                self.password_changed_by_owner(uow, log, &user, ctx, now)?;
            }
            Ok(Outcome::Done(user))
        })
    }
}

#[cfg(test)]
mod tests;
