//! Request extractors that speak the contract's error envelope.

pub mod caller;
pub mod client;
pub mod fields;
pub mod form;
mod json;
pub mod query;
pub mod request;
pub mod secret;
pub mod wire;

pub use caller::{Authenticated, Bearer};
pub use client::ClientContext;
pub use json::{
    DEFAULT_JSON_LIMIT, JsonLimit, JsonObject, is_json, read_json_object, read_limited,
    read_optional_json_object,
};
