//! One trait for the type of each field of a request body: it reads the field from [`Fields`]
//! with the contract's 422 rules (API.md §1.3, §1.5) and describes it in the OpenAPI document,
//! from the same type, so the description cannot drift from the parsing. The bounds come from
//! the value types' constants (`erp_domain::value`).
//!
//! A value type (`Titre`, `Centimes`, an id, an enum, a timestamp…) implements [`WireValue`];
//! the mode of the field is its Rust type ([`WireField`]):
//!
//! | field type       | absent          | `null`                  | in `required` | schema nullable |
//! |------------------|-----------------|-------------------------|---------------|-----------------|
//! | `T`              | 422 `required`  | 422 `required`          | yes           | no              |
//! | `Option<T>`      | `None`          | `None`                  | no            | yes             |
//! | `Patch<T>`       | `Absent`        | `Null` (clears)         | no            | yes             |
//! | `NotNull<T>`     | `None`          | 422 `invalid_value`     | no            | no              |
//! | `Defaulted<T>`   | `None`          | `None` (the default)    | no            | no              |

use erp_domain::Timestamp;
use erp_domain::value::{Entier, Quantite, Texte};
use utoipa::openapi::schema::{
    KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};

use crate::extract::fields::{Fields, Patch};

/// The component schemas a request body refers to, as `utoipa::ToSchema::schemas` collects them.
pub type SchemaList = Vec<(String, RefOr<Schema>)>;

/// A value a request field carries.
pub trait WireValue: Sized {
    /// Reads field `name`: `Absent`, `Null`, or a valid value (an invalid one is recorded in `f`
    /// and reads as `Absent`).
    fn read(f: &mut Fields, name: &str) -> Patch<Self>;

    /// The schema of the field, with its description; `nullable` adds `null` to its types.
    fn schema(description: &str, nullable: bool) -> RefOr<Schema>;

    /// Pushes the component schemas the field refers to.
    fn schemas(_schemas: &mut SchemaList) {}
}

/// How a request field is read and described: a [`WireValue`] in one of the modes of the table
/// of this module.
pub trait WireField: Sized {
    /// Whether the field is listed in the schema's `required`.
    const REQUIRED: bool;

    /// Reads field `name`; `None` only when a required field is missing or invalid (its
    /// violation is then recorded in `f`).
    fn read_field(f: &mut Fields, name: &str) -> Option<Self>;

    /// The schema of the field.
    fn field_schema(description: &str) -> RefOr<Schema>;

    /// Pushes the component schemas the field refers to.
    fn field_schemas(schemas: &mut SchemaList);
}

/// A field that may be omitted but not `null` (422 `invalid_value` "null interdit").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotNull<T>(pub Option<T>);

impl<T> NotNull<T> {
    /// Maps the value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> NotNull<U> {
        NotNull(self.0.map(f))
    }

    /// Writes the value, if one was sent, into `target`.
    pub fn set(self, target: &mut T) {
        if let Some(v) = self.0 {
            *target = v;
        }
    }
}

/// A field that may be omitted or `null`, both meaning "the default"; described as not
/// nullable since `null` is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaulted<T>(pub Option<T>);

impl<T: WireValue> WireField for T {
    const REQUIRED: bool = true;

    fn read_field(f: &mut Fields, name: &str) -> Option<Self> {
        let patch = T::read(f, name);
        f.require(name, patch)
    }

    fn field_schema(description: &str) -> RefOr<Schema> {
        T::schema(description, false)
    }

    fn field_schemas(schemas: &mut SchemaList) {
        T::schemas(schemas);
    }
}

impl<T: WireValue> WireField for Option<T> {
    const REQUIRED: bool = false;

    fn read_field(f: &mut Fields, name: &str) -> Option<Self> {
        Some(T::read(f, name).value())
    }

    fn field_schema(description: &str) -> RefOr<Schema> {
        T::schema(description, true)
    }

    fn field_schemas(schemas: &mut SchemaList) {
        T::schemas(schemas);
    }
}

impl<T: WireValue> WireField for Patch<T> {
    const REQUIRED: bool = false;

    fn read_field(f: &mut Fields, name: &str) -> Option<Self> {
        Some(T::read(f, name))
    }

    fn field_schema(description: &str) -> RefOr<Schema> {
        T::schema(description, true)
    }

    fn field_schemas(schemas: &mut SchemaList) {
        T::schemas(schemas);
    }
}

impl<T: WireValue> WireField for NotNull<T> {
    const REQUIRED: bool = false;

    fn read_field(f: &mut Fields, name: &str) -> Option<Self> {
        let patch = T::read(f, name);
        Some(Self(f.not_null(name, patch)))
    }

    fn field_schema(description: &str) -> RefOr<Schema> {
        T::schema(description, false)
    }

    fn field_schemas(schemas: &mut SchemaList) {
        T::schemas(schemas);
    }
}

impl<T: WireValue> WireField for Defaulted<T> {
    const REQUIRED: bool = false;

    fn read_field(f: &mut Fields, name: &str) -> Option<Self> {
        Some(Self(T::read(f, name).value()))
    }

    fn field_schema(description: &str) -> RefOr<Schema> {
        T::schema(description, false)
    }

    fn field_schemas(schemas: &mut SchemaList) {
        T::schemas(schemas);
    }
}

/// An inline schema of type `ty` (with `null` when `nullable`) and its description.
#[must_use]
pub fn inline(ty: Type, description: &str, nullable: bool) -> ObjectBuilder {
    let types = if nullable {
        SchemaType::from_iter([ty, Type::Null])
    } else {
        SchemaType::Type(ty)
    };
    ObjectBuilder::new()
        .schema_type(types)
        .description(Some(description))
}

/// A reference to component `name` with a description; when `nullable`, `oneOf` null and it.
#[must_use]
pub fn reference(name: &str, description: &str, nullable: bool) -> RefOr<Schema> {
    let mut r = Ref::from_schema_name(name);
    description.clone_into(&mut r.description);
    if nullable {
        RefOr::T(Schema::OneOf(
            OneOfBuilder::new()
                .item(ObjectBuilder::new().schema_type(Type::Null))
                .item(r)
                .build(),
        ))
    } else {
        RefOr::Ref(r)
    }
}

/// The description of a type or a field from its doc-comment lines (each trimmed, joined by
/// newlines, as utoipa's derive writes them).
#[must_use]
pub fn describe(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join("\n")
}

fn object(b: ObjectBuilder) -> RefOr<Schema> {
    RefOr::T(Schema::Object(b.build()))
}

fn format(f: KnownFormat) -> Option<SchemaFormat> {
    Some(SchemaFormat::KnownFormat(f))
}

impl<const MIN: usize, const MAX: usize> WireValue for Texte<MIN, MAX> {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        f.parse(name, |s| Self::parse(name, s))
    }

    fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
        object(
            inline(Type::String, description, nullable)
                .max_length(Some(Self::MAX_CHARS))
                .min_length((Self::MIN_CHARS > 0).then_some(Self::MIN_CHARS)),
        )
    }
}

impl<const MIN: i64, const MAX: i64> WireValue for Entier<MIN, MAX> {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        match f.integer(name, Self::MIN_VALUE, Self::MAX_VALUE) {
            Patch::Value(v) => match Self::new(name, v) {
                Ok(v) => Patch::Value(v),
                Err(e) => {
                    f.push_domain(e);
                    Patch::Absent
                }
            },
            Patch::Null => Patch::Null,
            Patch::Absent => Patch::Absent,
        }
    }

    fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
        let width =
            if Self::MIN_VALUE >= i64::from(i32::MIN) && Self::MAX_VALUE <= i64::from(i32::MAX) {
                KnownFormat::Int32
            } else {
                KnownFormat::Int64
            };
        object(
            inline(Type::Integer, description, nullable)
                .format(format(width))
                .minimum(Some(Self::MIN_VALUE))
                .maximum(Some(Self::MAX_VALUE)),
        )
    }
}

impl WireValue for Quantite {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        match f.number(name, Self::MIN_VALUE) {
            Patch::Value(v) => match Self::new(name, v) {
                Ok(v) => Patch::Value(v),
                Err(e) => {
                    f.push_domain(e);
                    Patch::Absent
                }
            },
            Patch::Null => Patch::Null,
            Patch::Absent => Patch::Absent,
        }
    }

    fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
        object(
            inline(Type::Number, description, nullable)
                .format(format(KnownFormat::Double))
                .minimum(Some(Self::MIN_VALUE)),
        )
    }
}

impl WireValue for bool {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        f.boolean(name)
    }

    fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
        object(inline(Type::Boolean, description, nullable))
    }
}

impl WireValue for Timestamp {
    fn read(f: &mut Fields, name: &str) -> Patch<Self> {
        f.timestamp(name)
    }

    fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
        reference("Timestamp", description, nullable)
    }

    fn schemas(schemas: &mut SchemaList) {
        use utoipa::{PartialSchema as _, ToSchema as _};
        type Ts = crate::openapi::schema::Ts;
        schemas.push((Ts::name().into_owned(), Ts::schema()));
    }
}

/// Implements [`WireValue`] for identifier newtypes: a positive JSON integer.
macro_rules! wire_id {
    ($($ty:ty),* $(,)?) => {$(
        impl WireValue for $ty {
            fn read(f: &mut Fields, name: &str) -> Patch<Self> {
                f.id(name).map(<$ty>::new)
            }

            fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
                object(
                    inline(Type::Integer, description, nullable)
                        .format(format(KnownFormat::Int64))
                        .minimum(Some(1)),
                )
            }
        }
    )*};
}

wire_id!(
    erp_domain::UserId,
    erp_domain::ClientId,
    erp_domain::ids::EquipementId,
    erp_domain::ids::CompetenceId,
    erp_domain::ids::TechnicienId,
    erp_domain::ids::InterventionId,
);

/// Implements [`WireValue`] for the wire enums: a trimmed, case-insensitive canonical value,
/// described by its component schema (`crate::openapi::schema`).
macro_rules! wire_enum {
    ($($ty:ty => $schema:ty),* $(,)?) => {$(
        impl WireValue for $ty {
            fn read(f: &mut Fields, name: &str) -> Patch<Self> {
                f.enumeration(name, &<$ty>::wire_values())
            }

            fn schema(description: &str, nullable: bool) -> RefOr<Schema> {
                use utoipa::ToSchema as _;
                reference(&<$schema>::name(), description, nullable)
            }

            fn schemas(schemas: &mut SchemaList) {
                use utoipa::{PartialSchema as _, ToSchema as _};
                schemas.push((<$schema>::name().into_owned(), <$schema>::schema()));
            }
        }
    )*};
}

wire_enum!(
    erp_domain::enums::StatutEquipement => crate::openapi::schema::StatutEquipement,
    erp_domain::enums::CriticiteEquipement => crate::openapi::schema::CriticiteEquipement,
    erp_domain::enums::NiveauCompetence => crate::openapi::schema::NiveauCompetence,
    erp_domain::enums::DisponibiliteTechnicien => crate::openapi::schema::DisponibiliteTechnicien,
    erp_domain::enums::PrioriteIntervention => crate::openapi::schema::PrioriteIntervention,
    erp_domain::enums::InterventionType => crate::openapi::schema::InterventionType,
    erp_domain::enums::StatutIntervention => crate::openapi::schema::StatutIntervention,
    erp_domain::enums::TypeNotification => crate::openapi::schema::TypeNotification,
    erp_domain::enums::CanalNotification => crate::openapi::schema::CanalNotification,
    erp_domain::enums::StatutPlanning => crate::openapi::schema::StatutPlanning,
    erp_domain::UserRole => crate::openapi::schema::UserRole,
);

#[cfg(test)]
mod tests {
    use erp_domain::value::{Centimes, Minutes, Quantite};
    use serde_json::{Value, json};

    use super::*;
    use crate::error::Location;

    fn fields(v: Value) -> Fields {
        let Value::Object(m) = v else { panic!() };
        Fields::new(m, Location::Body)
    }

    #[test]
    fn integers_are_described_with_their_bounds_and_width() {
        let minutes = serde_json::to_value(Minutes::schema("M.", false)).unwrap();
        assert_eq!(
            minutes,
            json!({"type": "integer", "format": "int32", "description": "M.",
                   "maximum": 1_000_000, "minimum": 0})
        );
        let money = serde_json::to_value(Centimes::schema("C.", true)).unwrap();
        assert_eq!(money["format"], "int64");
        assert_eq!(money["type"], json!(["integer", "null"]));
        let q = serde_json::to_value(Quantite::schema("Q.", false)).unwrap();
        assert_eq!(
            q,
            json!({"type": "number", "format": "double", "description": "Q.", "minimum": 0})
        );
    }

    #[test]
    fn modes_read_absent_null_and_values_as_documented() {
        let mut f = fields(json!({"a": null, "b": 2, "c": null, "d": -1.5}));
        assert_eq!(<Option<Minutes>>::read_field(&mut f, "a"), Some(None));
        assert_eq!(
            <Patch<Minutes>>::read_field(&mut f, "b").map(|p| p.map(Minutes::to_i32)),
            Some(Patch::Value(2))
        );
        assert_eq!(
            <Defaulted<bool>>::read_field(&mut f, "c"),
            Some(Defaulted(None))
        );
        assert_eq!(
            <NotNull<bool>>::read_field(&mut f, "zz"),
            Some(NotNull(None))
        );
        assert!(f.is_clean());
        assert_eq!(
            <NotNull<bool>>::read_field(&mut f, "a"),
            Some(NotNull(None))
        );
        assert_eq!(<Quantite>::read_field(&mut f, "d"), None);
        let codes: Vec<(String, &str, String)> = f
            .into_violations()
            .into_iter()
            .map(|v| (v.field, v.code.as_str(), v.message))
            .collect();
        assert_eq!(
            codes,
            vec![
                (
                    "a".to_owned(),
                    "invalid_value",
                    "Valeur invalide (null interdit)".to_owned()
                ),
                (
                    "d".to_owned(),
                    "out_of_range",
                    "Doit être supérieur ou égal à 0".to_owned()
                ),
            ]
        );
    }
}
