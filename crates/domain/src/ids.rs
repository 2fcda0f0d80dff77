//! Identifier newtypes, so that a user id can never be passed where a client id is expected.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(i64);

        impl $name {
            /// Wraps a raw database id.
            #[must_use]
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            /// The raw 64-bit value, as stored and as shown on the wire.
            #[must_use]
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Identifier of a row of `users`.
    UserId
);
id_type!(
    /// Identifier of a client account (`clients`).
    ClientId
);
id_type!(
    /// Identifier of a login session (`auth_sessions`), the `sid` claim.
    SessionId
);
id_type!(
    /// Identifier of an audit event.
    AuditEventId
);
id_type!(
    /// Identifier of an équipement.
    EquipementId
);
id_type!(
    /// Identifier of a compétence.
    CompetenceId
);
id_type!(
    /// Identifier of a technicien profile.
    TechnicienId
);
id_type!(
    /// Identifier of an intervention.
    InterventionId
);
id_type!(
    /// Identifier of a preventive planning.
    PlanningId
);
id_type!(
    /// Identifier of a notification.
    NotificationId
);
id_type!(
    /// Identifier of a document.
    DocumentId
);
