//! Opaque refresh tokens: 256 random bits, base64url (43 characters); only the SHA-256 is stored.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use erp_domain::ports::{OpaqueToken, OpaqueTokens};
use sha2::{Digest as _, Sha256};

use crate::random::random_bytes;

/// [`OpaqueTokens`] from the OS random source.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomOpaqueTokens;

impl OpaqueTokens for RandomOpaqueTokens {
    fn generate(&self) -> OpaqueToken {
        let value = URL_SAFE_NO_PAD.encode(random_bytes(32));
        let hash = self.hash(&value);
        OpaqueToken {
            value: value.into(),
            hash,
        }
    }

    fn hash(&self, presented: &str) -> String {
        hex::encode(Sha256::digest(presented.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    #[test]
    fn tokens_are_43_url_safe_characters_hashed_with_sha256() {
        let t = RandomOpaqueTokens.generate();
        let v = t.value.expose_secret();
        assert_eq!(v.len(), 43);
        assert!(
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(t.hash.len(), 64);
        assert_eq!(RandomOpaqueTokens.hash(v), t.hash);
        assert_ne!(RandomOpaqueTokens.generate().hash, t.hash);
    }
}
