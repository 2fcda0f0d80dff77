//! Schemas of the wire values that are not plain Rust types: the enums with their canonical
//! values (taken from the domain enums, so the document cannot list a value the server does not
//! emit), timestamps, and the error envelope of API.md §1.5.

use std::borrow::Cow;

use erp_domain::audit::AuditEventType;
use erp_domain::enums as wire;
use erp_domain::user::UserRole as Role;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};

/// A string schema restricted to `values`.
fn string_enum(description: &str, values: impl IntoIterator<Item = &'static str>) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
            .enum_values(Some(values))
            .build(),
    )
}

/// Declares a component schema for a wire enum.
macro_rules! enum_schema {
    ($(#[$doc:meta])* $name:ident = $values:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                RefOr::T(string_enum(
                    concat!("`", stringify!($name), "` (DATA.md §1): canonical lowercase values. Input is trimmed and matched case-insensitively."),
                    $values,
                ))
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

enum_schema!(
    /// A user's role.
    UserRole = Role::ALL.iter().map(|r| r.as_str())
);
enum_schema!(
    /// An intervention's type.
    InterventionType = wire::InterventionType::ALL.iter().map(|v| v.as_str())
);
enum_schema!(
    /// An intervention's status.
    StatutIntervention = wire::StatutIntervention::ALL.iter().map(|v| v.as_str())
);
enum_schema!(
    /// An intervention's priority.
    PrioriteIntervention = wire::PrioriteIntervention::ALL.iter().map(|v| v.as_str())
);
enum_schema!(
    /// An equipment's status.
    StatutEquipement = wire::StatutEquipement::ALL.iter().map(|v| v.as_str())
);
enum_schema!(
    /// An equipment's criticality.
    CriticiteEquipement = wire::CriticiteEquipement::ALL.iter().map(|v| v.as_str())
);
enum_schema!(
    /// A technicien's availability.
    DisponibiliteTechnicien = wire::DisponibiliteTechnicien::ALL.iter().map(|v| v.as_str())
);
enum_schema!(
    /// A skill level.
    NiveauCompetence = wire::NiveauCompetence::ALL.iter().map(|v| v.as_str())
);
enum_schema!(
    /// The action of an intervention history row.
    ActionHistorique = wire::ActionHistorique::ALL.iter().map(|v| v.as_str())
);
enum_schema!(
    /// A notification's type.
    TypeNotification = wire::TypeNotification::ALL.iter().map(|v| v.as_str())
);
enum_schema!(
    /// A notification's channel.
    CanalNotification = wire::CanalNotification::ALL.iter().map(|v| v.as_str())
);
enum_schema!(
    /// A planning's status.
    StatutPlanning = wire::StatutPlanning::ALL.iter().map(|v| v.as_str())
);
enum_schema!(
    /// A planning's frequency as the API writes it (API.md §3.7 output labels).
    FrequencePlanning = wire::FrequencePlanning::ALL.iter().map(|v| v.label())
);
enum_schema!(
    /// A planning's frequency as the API reads it: either label form (API.md §3.7).
    FrequencePlanningInput = wire::FrequencePlanning::ALL
        .iter()
        .flat_map(|v| [v.as_str(), v.label()])
        .collect::<std::collections::BTreeSet<_>>()
);
enum_schema!(
    /// An audit event type (API.md §3.11).
    AuditEventTypeName = AuditEventType::ALL.iter().map(|v| v.as_str())
);

/// A timestamp as written on the wire (API.md §1.3): UTC, `YYYY-MM-DDTHH:MM:SSZ` or with six
/// fractional digits. Input also accepts an offset, a naive date-time (UTC) or a bare date.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Ts(String);

impl From<chrono::DateTime<chrono::Utc>> for Ts {
    fn from(t: chrono::DateTime<chrono::Utc>) -> Self {
        Self(crate::wire::timestamp(t))
    }
}

impl utoipa::PartialSchema for Ts {
    fn schema() -> RefOr<Schema> {
        RefOr::T(Schema::Object(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .description(Some(
                    "UTC timestamp: `YYYY-MM-DDTHH:MM:SSZ`, or with exactly six fractional digits.",
                ))
                .examples(["2025-09-20T10:11:12Z"])
                .build(),
        ))
    }
}

impl utoipa::ToSchema for Ts {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Timestamp")
    }
}
