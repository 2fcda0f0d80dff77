//! What storage ports fail with: shared by every repository port, so it depends on none.

/// Which unique rule an insert or update broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueKey {
    /// `users.username_norm`.
    Username,
    /// `users.email`.
    Email,
    /// `equipements.nom_norm`.
    EquipementNom,
    /// `equipements.numero_serie`.
    NumeroSerie,
    /// `equipements.code_interne`.
    CodeInterne,
    /// `competences.nom_norm`.
    CompetenceNom,
    /// `techniciens.numero_badge`.
    NumeroBadge,
    /// `techniciens.user_id`.
    TechnicienUser,
    /// Any other unique index, named by the adapter's log.
    Other,
}

/// What a storage port can fail with. Adapters never let driver errors cross this boundary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoError {
    /// The row a write targeted does not exist.
    #[error("row not found")]
    NotFound,
    /// A unique rule was broken.
    #[error("unique constraint violated: {0:?}")]
    Duplicate(UniqueKey),
    /// A foreign key points to a missing row, or a row is still referenced.
    #[error("foreign key violated")]
    ForeignKey,
    /// A CHECK constraint refused the row: a bug upstream, since the domain validates first.
    #[error("check constraint violated")]
    Check,
    /// A concurrent transaction got in the way (serialization failure, busy database).
    #[error("concurrent modification")]
    Conflict,
    /// The database cannot be reached or no connection is free in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the message is for logs only.
    #[error("storage failure: {0}")]
    Other(String),
}
