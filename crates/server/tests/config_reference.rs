//! Keeps `docs/configuration.md` true: every key of the real `Settings` type (derived from its
//! `Deserialize` implementation, so a new field or section is seen without editing this test)
//! must be documented in the reference table, and the table must name no key the type lacks.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::rc::Rc;

use erp_server::config::Settings;
use serde::Deserialize as _;
use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};

const REFERENCE: &str = include_str!("../../../docs/configuration.md");

/// The header of the reference table; its first column holds the keys.
const TABLE_HEADER: &str = "| Key | Default | Notes |";

/// Every dotted key (`server.port`, `data_dir`) the configuration accepts. `Settings` is
/// deserialized from [`KeyRecorder`], which hands every struct its own field names: a field
/// whose type asks for a struct is a section, any other field is a key.
fn keys_of_settings() -> Result<BTreeSet<String>, String> {
    let keys = Rc::new(RefCell::new(BTreeSet::new()));
    Settings::deserialize(KeyRecorder {
        key: None,
        keys: Rc::clone(&keys),
    })
    .map_err(|e| format!("walking Settings: {e}"))?;
    Ok(keys.take())
}

#[derive(Debug)]
struct Failure(String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

impl de::Error for Failure {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// A deserializer that produces a harmless sample of whatever is asked and records the dotted
/// key of each leaf it is asked for (`key` is `None` only for the root).
struct KeyRecorder {
    key: Option<String>,
    keys: Rc<RefCell<BTreeSet<String>>>,
}

impl KeyRecorder {
    fn leaf(&self) -> Result<(), Failure> {
        let key = self
            .key
            .clone()
            .ok_or_else(|| Failure("the root is not a struct".into()))?;
        self.keys.borrow_mut().insert(key);
        Ok(())
    }
}

/// Leaf types: record the key, answer a sample value.
macro_rules! leaf {
    ($($method:ident => |$v:ident| $sample:expr),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, $v: V) -> Result<V::Value, Failure> {
            self.leaf()?;
            $sample
        }
    )*};
}

impl<'de> Deserializer<'de> for KeyRecorder {
    type Error = Failure;

    leaf! {
        deserialize_bool => |v| v.visit_bool(false),
        deserialize_i8 => |v| v.visit_i64(1),
        deserialize_i16 => |v| v.visit_i64(1),
        deserialize_i32 => |v| v.visit_i64(1),
        deserialize_i64 => |v| v.visit_i64(1),
        deserialize_u8 => |v| v.visit_u64(1),
        deserialize_u16 => |v| v.visit_u64(1),
        deserialize_u32 => |v| v.visit_u64(1),
        deserialize_u64 => |v| v.visit_u64(1),
        deserialize_f32 => |v| v.visit_f64(0.5),
        deserialize_f64 => |v| v.visit_f64(0.5),
        deserialize_char => |v| v.visit_char('x'),
        // Also a valid IP address and path, so typed strings parse too.
        deserialize_str => |v| v.visit_str("127.0.0.1"),
        deserialize_string => |v| v.visit_str("127.0.0.1"),
        deserialize_bytes => |v| v.visit_bytes(b"x"),
        deserialize_byte_buf => |v| v.visit_bytes(b"x"),
        deserialize_unit => |v| v.visit_unit(),
        deserialize_seq => |v| v.visit_seq(Empty),
        deserialize_map => |v| v.visit_map(Empty),
    }

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Failure> {
        Err(Failure(format!(
            "{:?}: a self-describing type cannot be walked; give it a concrete type",
            self.key
        )))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        visitor.visit_some(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Failure> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Failure> {
        visitor.visit_map(Fields {
            prefix: self.key.map(|k| format!("{k}.")).unwrap_or_default(),
            fields: fields.iter(),
            current: None,
            keys: self.keys,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Failure> {
        self.leaf()?;
        let first = variants
            .first()
            .ok_or_else(|| Failure("an enum without variants".into()))?;
        visitor.visit_enum(FirstVariant(first))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        visitor.visit_unit()
    }
}

/// An empty sequence or map.
struct Empty;

impl<'de> SeqAccess<'de> for Empty {
    type Error = Failure;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        _: T,
    ) -> Result<Option<T::Value>, Failure> {
        Ok(None)
    }
}

impl<'de> MapAccess<'de> for Empty {
    type Error = Failure;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        _: K,
    ) -> Result<Option<K::Value>, Failure> {
        Ok(None)
    }
    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, _: T) -> Result<T::Value, Failure> {
        Err(Failure("no value in an empty map".into()))
    }
}

/// A struct's fields, each value read from a recorder named after it.
struct Fields {
    prefix: String,
    fields: std::slice::Iter<'static, &'static str>,
    current: Option<String>,
    keys: Rc<RefCell<BTreeSet<String>>>,
}

impl<'de> MapAccess<'de> for Fields {
    type Error = Failure;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Failure> {
        let Some(field) = self.fields.next() else {
            return Ok(None);
        };
        self.current = Some(format!("{}{field}", self.prefix));
        seed.deserialize(StrDeserializer::<Failure>::new(field))
            .map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Failure> {
        seed.deserialize(KeyRecorder {
            key: self.current.take(),
            keys: Rc::clone(&self.keys),
        })
    }
}

/// Chooses an enum's first (unit) variant.
struct FirstVariant(&'static str);

impl<'de> EnumAccess<'de> for FirstVariant {
    type Error = Failure;
    type Variant = UnitOnly;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, UnitOnly), Failure> {
        Ok((
            seed.deserialize(StrDeserializer::<Failure>::new(self.0))?,
            UnitOnly,
        ))
    }
}

struct UnitOnly;

impl<'de> de::VariantAccess<'de> for UnitOnly {
    type Error = Failure;
    fn unit_variant(self) -> Result<(), Failure> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _: T) -> Result<T::Value, Failure> {
        Err(Failure("only unit variants are sampled".into()))
    }
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Failure> {
        Err(Failure("only unit variants are sampled".into()))
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Failure> {
        Err(Failure("only unit variants are sampled".into()))
    }
}

/// The keys named (in backquotes) in the first column of the reference table.
fn documented_keys(markdown: &str) -> Result<BTreeSet<String>, String> {
    let mut lines = markdown.lines().skip_while(|l| l.trim() != TABLE_HEADER);
    if lines.next().is_none() {
        return Err(format!(
            "docs/configuration.md has no table headed {TABLE_HEADER}"
        ));
    }
    let mut keys = BTreeSet::new();
    for row in lines.skip(1).take_while(|l| l.starts_with('|')) {
        let first_cell = row.split('|').nth(1).unwrap_or_default();
        let quoted = first_cell.split('`').skip(1).step_by(2);
        let before = keys.len();
        keys.extend(quoted.map(str::to_owned));
        if keys.len() == before {
            return Err(format!("a reference row names no key in backquotes: {row}"));
        }
    }
    Ok(keys)
}

#[test]
fn every_configuration_key_is_documented_and_every_documented_key_exists() {
    let actual = keys_of_settings().unwrap();
    let documented = documented_keys(REFERENCE).unwrap();
    let undocumented: Vec<_> = actual.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&actual).collect();
    assert!(
        undocumented.is_empty() && stale.is_empty(),
        "docs/configuration.md is out of date.\n  keys of Settings missing from the table: \
         {undocumented:?}\n  keys in the table that Settings does not have: {stale:?}"
    );
}

#[test]
fn the_walk_finds_sections_nested_and_optional_and_top_level_keys() {
    let keys = keys_of_settings().unwrap();
    for expected in [
        "environment",
        "data_dir",
        "server.port",
        "server.hsts",
        "security.fernet_keys",
        "rate_limit.trusted_proxies",
        "tracing.headers",
        "documents.allowed_extensions",
    ] {
        assert!(keys.contains(expected), "{expected} not derived: {keys:?}");
    }
    assert!(
        !keys.iter().any(|k| k == "server" || k == "documents"),
        "a section is not a key: {keys:?}"
    );
}

#[test]
fn the_table_reader_takes_every_quoted_key_of_the_first_column_only() {
    let markdown = "intro `not.a.key`\n\n| Key | Default | Notes |\n|---|---|---|\n\
                    | `a.b` / `a.c` | `x` | see `d.e` |\n| `f` | 1 | |\n\nafter | `g` |\n";
    let keys = documented_keys(markdown).unwrap();
    assert_eq!(
        keys,
        ["a.b", "a.c", "f"].map(str::to_owned).into_iter().collect()
    );
    assert!(documented_keys("| Key | Default | Notes |\n|---|---|---|\n| none | | |\n").is_err());
    assert!(documented_keys("no table").is_err());
}
