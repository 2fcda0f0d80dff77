//! Mapping of diesel errors onto the ports' [`RepoError`]: no driver error crosses the boundary.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use erp_domain::ports::{RepoError, UniqueKey};

/// Maps a diesel error, naming the broken unique key when it is one the domain knows.
pub(crate) fn map(e: DieselError) -> RepoError {
    match e {
        DieselError::NotFound => RepoError::NotFound,
        DieselError::DatabaseError(kind, info) => {
            // PostgreSQL names the constraint; SQLite puts "table.column" in the message.
            let where_ = format!(
                "{} {}",
                info.constraint_name().unwrap_or_default(),
                info.message()
            );
            match kind {
                DatabaseErrorKind::UniqueViolation => RepoError::Duplicate(unique_key(&where_)),
                DatabaseErrorKind::ForeignKeyViolation => RepoError::ForeignKey,
                DatabaseErrorKind::CheckViolation => RepoError::Check,
                DatabaseErrorKind::SerializationFailure => RepoError::Conflict,
                DatabaseErrorKind::ClosedConnection => {
                    RepoError::Unavailable(info.message().to_owned())
                }
                _ if is_busy(info.message()) => RepoError::Conflict,
                _ if info.message().contains("FOREIGN KEY constraint failed") => {
                    RepoError::ForeignKey
                }
                _ if info.message().contains("CHECK constraint failed") => RepoError::Check,
                _ => RepoError::Other(info.message().to_owned()),
            }
        }
        other => RepoError::Other(other.to_string()),
    }
}

fn unique_key(where_: &str) -> UniqueKey {
    if where_.contains("username_norm") {
        UniqueKey::Username
    } else if where_.contains("users_email_key") || where_.contains("users.email") {
        UniqueKey::Email
    } else if where_.contains("equipements_nom_norm_key") || where_.contains("equipements.nom_norm")
    {
        UniqueKey::EquipementNom
    } else if where_.contains("competences_nom_norm_key") || where_.contains("competences.nom_norm")
    {
        UniqueKey::CompetenceNom
    } else if where_.contains("numero_badge") {
        UniqueKey::NumeroBadge
    } else if where_.contains("techniciens_user_id_key") || where_.contains("techniciens.user_id") {
        UniqueKey::TechnicienUser
    } else if where_.contains("numero_serie") {
        UniqueKey::NumeroSerie
    } else if where_.contains("code_interne") {
        UniqueKey::CodeInterne
    } else {
        UniqueKey::Other
    }
}

fn is_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_keys_are_recognised_from_both_backends_wording() {
        assert_eq!(
            unique_key(" UNIQUE constraint failed: users.username_norm"),
            UniqueKey::Username
        );
        assert_eq!(
            unique_key("users_username_norm_key duplicate key"),
            UniqueKey::Username
        );
        assert_eq!(
            unique_key(" UNIQUE constraint failed: users.email"),
            UniqueKey::Email
        );
        assert_eq!(
            unique_key("users_email_key duplicate key"),
            UniqueKey::Email
        );
        assert_eq!(unique_key("something_else"), UniqueKey::Other);
    }
}
