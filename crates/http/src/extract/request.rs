//! `request_body!`: one request type per endpoint that both reads the body and describes it.
//!
//! ```ignore
//! request_body! {
//!     /// EquipementCreate (API.md §3.5).
//!     pub struct EquipementCreate {
//!         /// Name, unique case-insensitively.
//!         pub nom: Titre,
//!         /// Type (alias `type_equipement`).
//!         pub type_equipement = "type": Libelle,
//!         /// Serial number, unique.
//!         pub numero_serie: Option<NomCourt>,
//!     }
//! }
//! ```
//!
//! generates the struct, `fn read(f: &mut Fields) -> Option<Self>` (each field read with its
//! [`WireField`](crate::extract::wire::WireField) rules, under its wire name, which defaults to
//! the field's name) and the `utoipa::ToSchema` impl (an object whose properties, `required`
//! list and descriptions come from the same fields and doc comments). Rules that span fields
//! (aliases, read-only fields, `If-Match`) stay explicit next to the handler.

/// Declares a request body type; see the module documentation.
macro_rules! request_body {
    (@wire $field:ident) => { stringify!($field) };
    (@wire $field:ident $wire:literal) => { $wire };
    (
        $(#[doc = $doc:literal])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $fdoc:literal])*
                $fvis:vis $field:ident $(= $wire:literal)? : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug)]
        $vis struct $name {
            $(
                $(#[doc = $fdoc])*
                $fvis $field: $ty,
            )*
        }

        impl $name {
            /// Reads every field of the body with the contract's rules, recording every
            /// violation in `f` (`Fields::finish_with` answers them); `None` when a required
            /// field is missing or invalid.
            pub fn read(f: &mut $crate::extract::fields::Fields) -> Option<Self> {
                $(
                    let $field = <$ty as $crate::extract::wire::WireField>::read_field(
                        f,
                        $crate::extract::request::request_body!(@wire $field $($wire)?),
                    );
                )*
                Some(Self { $($field: $field?,)* })
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use $crate::extract::wire::{WireField, describe};
                let mut o = utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::Object)
                    .description(Some(describe(&[$($doc),*])));
                $(
                    let wire = $crate::extract::request::request_body!(@wire $field $($wire)?);
                    if <$ty as WireField>::REQUIRED {
                        o = o.required(wire);
                    }
                    o = o.property(wire, <$ty as WireField>::field_schema(&describe(&[$($fdoc),*])));
                )*
                utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(o.build()))
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }

            fn schemas(
                schemas: &mut Vec<(
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
                )>,
            ) {
                $(<$ty as $crate::extract::wire::WireField>::field_schemas(schemas);)*
            }
        }
    };
}

pub(crate) use request_body;

#[cfg(test)]
mod tests {
    use erp_domain::ClientId;
    use erp_domain::enums::StatutEquipement;
    use erp_domain::value::{Centimes, NomCourt, Titre};
    use serde_json::{Value, json};

    use crate::error::Location;
    use crate::extract::fields::{Fields, Patch};
    use crate::extract::wire::{Defaulted, NotNull};

    request_body! {
        /// A sample body.
        /// On two lines.
        struct Sample {
            /// The name.
            nom: Titre,
            /// Its kind.
            kind = "type": NotNull<NomCourt>,
            /// A cost.
            cout: Option<Centimes>,
            /// The client.
            client_id: Patch<ClientId>,
            /// The status.
            statut: Defaulted<StatutEquipement>,
            /// When.
            quand: Option<erp_domain::Timestamp>,
            /// Flag.
            actif: NotNull<bool>,
        }
    }

    fn fields(v: Value) -> Fields {
        let Value::Object(m) = v else { panic!() };
        Fields::new(m, Location::Body)
    }

    fn codes(f: Fields) -> Vec<(String, &'static str)> {
        f.into_violations()
            .into_iter()
            .map(|v| (v.field, v.code.as_str()))
            .collect()
    }

    #[test]
    fn a_valid_body_reads_into_its_types() {
        let mut f = fields(json!({
            "nom": "  Pompe ", "type": "x", "cout": 12, "client_id": null,
            "statut": "PANNE", "quand": "2025-01-02", "actif": false
        }));
        let s = Sample::read(&mut f).unwrap();
        assert!(f.is_clean());
        assert_eq!(s.nom.as_str(), "Pompe");
        assert_eq!(s.kind.0.unwrap().as_str(), "x");
        assert_eq!(s.cout.unwrap().get(), 12);
        assert_eq!(s.client_id, Patch::Null);
        assert_eq!(s.statut.0, Some(StatutEquipement::Panne));
        assert!(s.quand.is_some());
        assert_eq!(s.actif.0, Some(false));
    }

    #[test]
    fn every_violation_of_a_body_is_collected() {
        let mut f = fields(json!({
            "type": null, "cout": -1, "client_id": "3", "statut": "cassé",
            "quand": "hier", "actif": "yes"
        }));
        assert!(Sample::read(&mut f).is_none());
        assert_eq!(
            codes(f),
            vec![
                ("nom".to_owned(), "required"),
                ("type".to_owned(), "invalid_value"),
                ("cout".to_owned(), "out_of_range"),
                ("client_id".to_owned(), "invalid_type"),
                ("statut".to_owned(), "invalid_value"),
                ("quand".to_owned(), "invalid_format"),
                ("actif".to_owned(), "invalid_type"),
            ]
        );
        let mut f = fields(json!({"nom": "é".repeat(256), "statut": null}));
        assert!(Sample::read(&mut f).is_none());
        assert_eq!(codes(f), vec![("nom".to_owned(), "too_long")]);
    }

    #[test]
    fn the_schema_is_derived_from_the_same_fields() {
        use utoipa::{PartialSchema as _, ToSchema as _};
        let schema = serde_json::to_value(Sample::schema()).unwrap();
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "description": "A sample body.\nOn two lines.",
                "required": ["nom"],
                "properties": {
                    "actif": {"type": "boolean", "description": "Flag."},
                    "client_id": {
                        "type": ["integer", "null"], "format": "int64",
                        "description": "The client.", "minimum": 1
                    },
                    "cout": {
                        "type": ["integer", "null"], "format": "int64", "description": "A cost.",
                        "maximum": 1_000_000_000_000_i64, "minimum": 0
                    },
                    "nom": {
                        "type": "string", "description": "The name.",
                        "maxLength": 255, "minLength": 1
                    },
                    "quand": {"oneOf": [
                        {"type": "null"},
                        {"$ref": "#/components/schemas/Timestamp", "description": "When."}
                    ]},
                    "statut": {
                        "$ref": "#/components/schemas/StatutEquipement",
                        "description": "The status."
                    },
                    "type": {"type": "string", "description": "Its kind.", "maxLength": 100},
                }
            })
        );
        let mut refs = Vec::new();
        Sample::schemas(&mut refs);
        let names: Vec<&str> = refs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec!["StatutEquipement", "Timestamp"]);
        assert_eq!(Sample::name(), "Sample");
    }
}
