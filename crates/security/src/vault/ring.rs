//! One key of the Fernet ring, split into its signing and encryption halves: what the vault,
//! its [`super::sink`] and its [`super::reader`] share (a leaf, so that none of them imports the
//! parent module back).

/// One key of the ring.
#[derive(Clone)]
pub(super) struct RingKey {
    /// The key's id ([`crate::keys::key_id`]).
    pub(super) id: String,
    /// The HMAC-SHA256 half (first 16 bytes).
    pub(super) signing: [u8; 16],
    /// The AES-128-CBC half (last 16 bytes).
    pub(super) encryption: [u8; 16],
}

impl RingKey {
    /// The key of 32 raw bytes; `None` for any other length.
    pub(super) fn from_raw(raw: &[u8]) -> Option<Self> {
        if raw.len() != 32 {
            return None;
        }
        let mut signing = [0_u8; 16];
        signing.copy_from_slice(&raw[..16]);
        let mut encryption = [0_u8; 16];
        encryption.copy_from_slice(&raw[16..]);
        Some(Self {
            id: crate::keys::key_id(raw),
            signing,
            encryption,
        })
    }
}
