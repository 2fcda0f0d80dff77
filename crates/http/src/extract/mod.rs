//! Request extractors that speak the contract's error envelope.

mod json;

pub use json::{DEFAULT_JSON_LIMIT, JsonLimit, JsonObject};
