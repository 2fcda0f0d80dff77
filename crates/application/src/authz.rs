//! The authorization policy (D5, API.md §2): which roles may perform each action, as data,
//! plus the ownership rules (technicien on their assignments, client on their account).

use erp_domain::user::UserRole;
use erp_domain::{ClientId, UserId};

use crate::error::AppError;

/// Every protected action of the role matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `POST /auth/logout`, `GET /auth/me`, `POST /auth/change-password`, `GET /users/me`,
    /// `PUT /users/update`.
    OwnAccount,
    /// `POST /users`, `GET /users`, `GET·PUT·PATCH·DELETE /users/{id}`, `PATCH …/activate`.
    ManageUsers,
    /// `GET /techniciens`, `/techniciens/{id}`, `/techniciens/competences[/{id}]`.
    ReadTechniciens,
    /// Writes on techniciens and compétences.
    ManageTechniciens,
    /// `GET /equipements*` (client: own account).
    ReadEquipements,
    /// Writes on équipements.
    ManageEquipements,
    /// `GET /interventions*`, `/filters/interventions`, historique (client: own account).
    ReadInterventions,
    /// `POST /interventions`, `PUT·PATCH /interventions/{id}`.
    EditInterventions,
    /// `affecter`, `annuler`, `archiver` (and `statut` to those targets).
    DispatchInterventions,
    /// `demarrer`, `suspendre`, `reprendre`, `cloturer` (technicien: own).
    WorkOnInterventions,
    /// `valider` (client: own account).
    ValidateInterventions,
    /// `PATCH …/statut` to `ouverte` (always 409, but roles first).
    ReopenIntervention,
    /// `GET /planning*`.
    ReadPlanning,
    /// Writes on planning, `/dates`, `/generer`.
    ManagePlanning,
    /// `POST /notifications`, `GET /notifications`, `…/user/{id}`, `DELETE`.
    ManageNotifications,
    /// `GET /notifications/me`, `PUT·PATCH …/read` (own).
    OwnNotifications,
    /// Document uploads (technicien: own).
    UploadDocuments,
    /// `GET /documents`.
    ListAllDocuments,
    /// Reading an intervention's documents (client: own account).
    ReadDocuments,
    /// `DELETE /documents/{id}`.
    DeleteDocuments,
    /// `GET /dashboard/stats` (scoped for technicien and client).
    ReadDashboard,
    /// `GET /audit/events`.
    ReadAudit,
}

use UserRole::{Admin as A, Client as C, Responsable as R, Technicien as T};

impl Action {
    /// Every action, for exhaustive tests.
    pub const ALL: [Self; 22] = [
        Self::OwnAccount,
        Self::ManageUsers,
        Self::ReadTechniciens,
        Self::ManageTechniciens,
        Self::ReadEquipements,
        Self::ManageEquipements,
        Self::ReadInterventions,
        Self::EditInterventions,
        Self::DispatchInterventions,
        Self::WorkOnInterventions,
        Self::ValidateInterventions,
        Self::ReopenIntervention,
        Self::ReadPlanning,
        Self::ManagePlanning,
        Self::ManageNotifications,
        Self::OwnNotifications,
        Self::UploadDocuments,
        Self::ListAllDocuments,
        Self::ReadDocuments,
        Self::DeleteDocuments,
        Self::ReadDashboard,
        Self::ReadAudit,
    ];

    /// The roles allowed, in declared order (the 403 message lists them).
    #[must_use]
    pub const fn allowed_roles(self) -> &'static [UserRole] {
        match self {
            Self::OwnAccount | Self::OwnNotifications | Self::ReadDashboard => &[A, R, T, C],
            Self::ReadEquipements | Self::ReadInterventions | Self::ReadDocuments => &[A, R, T, C],
            Self::ManageUsers | Self::ManageNotifications | Self::ReadAudit => &[A],
            Self::ReadTechniciens | Self::ReadPlanning | Self::ReopenIntervention => &[A, R, T],
            Self::ManageTechniciens | Self::ManageEquipements | Self::EditInterventions => &[A, R],
            Self::DispatchInterventions | Self::ManagePlanning => &[A, R],
            Self::ListAllDocuments | Self::DeleteDocuments => &[A, R],
            Self::UploadDocuments => &[A, R, T],
            Self::WorkOnInterventions => &[A, T],
            Self::ValidateInterventions => &[A, C],
        }
    }
}

/// "Accès réservé aux rôles : admin, responsable".
#[must_use]
pub fn forbidden_message(roles: &[UserRole]) -> String {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    format!("Accès réservé aux rôles : {}", names.join(", "))
}

/// Allows the action or returns the 403 listing the allowed roles.
///
/// # Errors
/// [`AppError::Forbidden`].
pub fn authorize(role: UserRole, action: Action) -> Result<(), AppError> {
    let allowed = action.allowed_roles();
    if allowed.contains(&role) {
        Ok(())
    } else {
        Err(AppError::Forbidden {
            message: forbidden_message(allowed),
            required_roles: allowed.to_vec(),
        })
    }
}

/// A technicien acts only on interventions assigned to them: `assignee` is the user behind the
/// intervention's technicien profile. Other roles allowed by the matrix act on any.
///
/// # Errors
/// [`AppError::Forbidden`] "Intervention non affectée à ce technicien".
pub fn check_assignment(
    role: UserRole,
    caller: UserId,
    assignee: Option<UserId>,
) -> Result<(), AppError> {
    if role != UserRole::Technicien || assignee == Some(caller) {
        return Ok(());
    }
    Err(AppError::Forbidden {
        message: "Intervention non affectée à ce technicien".into(),
        required_roles: Vec::new(),
    })
}

/// Whether a caller sees a row that belongs to client account `row_client`: a client only
/// their own account's rows (none without an account); other roles every row.
#[must_use]
pub fn sees_client_row(
    role: UserRole,
    caller_client: Option<ClientId>,
    row_client: Option<ClientId>,
) -> bool {
    match role {
        UserRole::Client => caller_client.is_some() && caller_client == row_client,
        UserRole::Admin | UserRole::Responsable | UserRole::Technicien => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The role matrix of API.md §2, one row per action: A, R, T, C.
    const MATRIX: [(Action, [bool; 4]); 22] = [
        (Action::OwnAccount, [true, true, true, true]),
        (Action::ManageUsers, [true, false, false, false]),
        (Action::ReadTechniciens, [true, true, true, false]),
        (Action::ManageTechniciens, [true, true, false, false]),
        (Action::ReadEquipements, [true, true, true, true]),
        (Action::ManageEquipements, [true, true, false, false]),
        (Action::ReadInterventions, [true, true, true, true]),
        (Action::EditInterventions, [true, true, false, false]),
        (Action::DispatchInterventions, [true, true, false, false]),
        (Action::WorkOnInterventions, [true, false, true, false]),
        (Action::ValidateInterventions, [true, false, false, true]),
        (Action::ReopenIntervention, [true, true, true, false]),
        (Action::ReadPlanning, [true, true, true, false]),
        (Action::ManagePlanning, [true, true, false, false]),
        (Action::ManageNotifications, [true, false, false, false]),
        (Action::OwnNotifications, [true, true, true, true]),
        (Action::UploadDocuments, [true, true, true, false]),
        (Action::ListAllDocuments, [true, true, false, false]),
        (Action::ReadDocuments, [true, true, true, true]),
        (Action::DeleteDocuments, [true, true, false, false]),
        (Action::ReadDashboard, [true, true, true, true]),
        (Action::ReadAudit, [true, false, false, false]),
    ];

    #[test]
    fn every_action_and_role_follows_the_matrix() {
        assert_eq!(MATRIX.len(), Action::ALL.len());
        for (action, row) in MATRIX {
            for (role, expected) in UserRole::ALL.into_iter().zip(row) {
                assert_eq!(
                    authorize(role, action).is_ok(),
                    expected,
                    "{action:?} for {role}"
                );
            }
        }
    }

    #[test]
    fn the_403_lists_the_allowed_roles() {
        let err = authorize(UserRole::Client, Action::ManageEquipements).unwrap_err();
        assert_eq!(
            err,
            AppError::Forbidden {
                message: "Accès réservé aux rôles : admin, responsable".into(),
                required_roles: vec![UserRole::Admin, UserRole::Responsable]
            }
        );
    }

    #[test]
    fn techniciens_act_only_on_their_assignments() {
        let me = UserId::new(5);
        let other = UserId::new(6);
        let cases = [
            (UserRole::Technicien, Some(me), true),
            (UserRole::Technicien, Some(other), false),
            (UserRole::Technicien, None, false),
            (UserRole::Admin, Some(other), true),
            (UserRole::Responsable, None, true),
        ];
        for (role, assignee, ok) in cases {
            assert_eq!(
                check_assignment(role, me, assignee).is_ok(),
                ok,
                "{role} {assignee:?}"
            );
        }
    }

    #[test]
    fn clients_see_only_their_account() {
        let mine = Some(ClientId::new(1));
        let theirs = Some(ClientId::new(2));
        let cases = [
            (UserRole::Client, mine, mine, true),
            (UserRole::Client, mine, theirs, false),
            (UserRole::Client, mine, None, false),
            (UserRole::Client, None, None, false),
            (UserRole::Technicien, None, theirs, true),
            (UserRole::Admin, None, None, true),
        ];
        for (role, caller, row, visible) in cases {
            assert_eq!(
                sees_client_row(role, caller, row),
                visible,
                "{role} {caller:?} {row:?}"
            );
        }
    }
}
