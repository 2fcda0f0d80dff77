//! Access tokens (D4, API.md §1.6): JWTs signed RS256 (HS256 only when configured) from a key
//! ring, so that signing keys rotate while tokens signed by older keys still verify. The
//! verifier pins the configured algorithm and checks `kid`, `iss`, `aud` and `exp` itself
//! against the injected clock, with no leeway.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use erp_domain::clock::Timestamp;
use erp_domain::ports::{AccessClaims, IssuedToken, TokenIssuer, TokenRejected, TokenVerifier};
use erp_domain::{SessionId, UserId, UserRole};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::keys::{KeyError, SigningKey, key_id};

/// Which family of keys signs tokens.
#[derive(Debug, Clone)]
pub enum SigningConfig {
    /// RS256 with the newest key signing and every key of the ring verifying.
    Rs256 {
        /// The signing key.
        signing: SigningKey,
        /// Public keys (PEM) of earlier signing keys, still accepted.
        previous_public_pems: Vec<String>,
    },
    /// HS256 with a shared secret (only when explicitly configured).
    Hs256 {
        /// At least 32 bytes.
        secret: secrecy::SecretString,
    },
}

/// Token settings.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
    /// Lifetime of access tokens, in seconds (900 by default).
    pub ttl_seconds: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    sid: String,
    jti: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// Issues and verifies access tokens.
pub struct JwtService {
    algorithm: Algorithm,
    kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    settings: JwtSettings,
    verified: VerifiedTokens,
}

/// Tokens whose signature and claims were already checked, by their exact text. A client
/// sends the same access token on every request until it expires; checking an RS256
/// signature again each time was 7.6 % of the server's CPU on a read (docs/benchmarks.md).
/// Only the signature check is skipped: expiry is checked on every use, and the session
/// behind the token is read on every request by the caller. Bounded: emptied when full.
#[derive(Default)]
struct VerifiedTokens {
    map: std::sync::Mutex<HashMap<String, AccessClaims>>,
}

impl VerifiedTokens {
    const CAPACITY: usize = 1024;

    fn get(&self, token: &str) -> Option<AccessClaims> {
        self.map.lock().ok()?.get(token).cloned()
    }

    fn insert(&self, token: &str, claims: &AccessClaims) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= Self::CAPACITY {
                map.clear();
            }
            map.insert(token.to_owned(), claims.clone());
        }
    }
}

impl std::fmt::Debug for JwtService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtService")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .field(
                "verification_kids",
                &self.decoding.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn invalid(e: impl std::fmt::Display) -> KeyError {
    KeyError::InvalidRsa(e.to_string())
}

impl JwtService {
    /// Builds the service from the key configuration.
    ///
    /// # Errors
    /// [`KeyError`] when a key does not parse, or an HS256 secret is shorter than 32 bytes.
    pub fn new(config: &SigningConfig, settings: JwtSettings) -> Result<Self, KeyError> {
        use secrecy::ExposeSecret as _;
        match config {
            SigningConfig::Rs256 {
                signing,
                previous_public_pems,
            } => {
                let encoding =
                    EncodingKey::from_rsa_pem(signing.private_pem().as_bytes()).map_err(invalid)?;
                let mut decoding = HashMap::new();
                decoding.insert(
                    signing.kid().to_owned(),
                    DecodingKey::from_rsa_pem(signing.public_pem().as_bytes()).map_err(invalid)?,
                );
                for pem in previous_public_pems {
                    let key = DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(invalid)?;
                    decoding.insert(key_id(pem.as_bytes()), key);
                }
                Ok(Self {
                    algorithm: Algorithm::RS256,
                    kid: signing.kid().to_owned(),
                    encoding,
                    decoding,
                    settings,
                    verified: VerifiedTokens::default(),
                })
            }
            SigningConfig::Hs256 { secret } => {
                let bytes = secret.expose_secret().as_bytes();
                if bytes.len() < 32 {
                    return Err(KeyError::InvalidRsa(
                        "the HS256 secret must be at least 32 bytes".into(),
                    ));
                }
                let kid = key_id(bytes);
                let mut decoding = HashMap::new();
                decoding.insert(kid.clone(), DecodingKey::from_secret(bytes));
                Ok(Self {
                    algorithm: Algorithm::HS256,
                    kid,
                    encoding: EncodingKey::from_secret(bytes),
                    decoding,
                    settings,
                    verified: VerifiedTokens::default(),
                })
            }
        }
    }

    /// The key id of the signing key.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm in use.
    #[must_use]
    pub fn algorithm(&self) -> &'static str {
        match self.algorithm {
            Algorithm::HS256 => "HS256",
            _ => "RS256",
        }
    }
}

fn rejected(reason: impl Into<String>) -> TokenRejected {
    TokenRejected(reason.into())
}

fn from_unix(secs: i64) -> Option<Timestamp> {
    DateTime::<Utc>::from_timestamp(secs, 0)
}

impl TokenIssuer for JwtService {
    fn issue(
        &self,
        user: UserId,
        role: UserRole,
        session: SessionId,
        now: Timestamp,
    ) -> Result<IssuedToken, TokenRejected> {
        let iat = now.timestamp();
        let claims = Claims {
            sub: user.get().to_string(),
            role: role.as_str().to_owned(),
            sid: session.get().to_string(),
            jti: uuid::Uuid::new_v4().to_string(),
            iat,
            exp: iat + self.settings.ttl_seconds,
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
        };
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| rejected(e.to_string()))?;
        Ok(IssuedToken {
            token,
            expires_in: self.settings.ttl_seconds,
        })
    }
}

impl TokenVerifier for JwtService {
    fn verify(&self, token: &str, now: Timestamp) -> Result<AccessClaims, TokenRejected> {
        let claims = match self.verified.get(token) {
            Some(claims) => claims,
            None => {
                let claims = self.check_signed(token)?;
                self.verified.insert(token, &claims);
                claims
            }
        };
        if now >= claims.expires_at {
            return Err(rejected("expired"));
        }
        Ok(claims)
    }
}

impl JwtService {
    /// Everything but expiry: header, algorithm, key, signature, issuer, audience, claims.
    fn check_signed(&self, token: &str) -> Result<AccessClaims, TokenRejected> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| rejected(format!("malformed: {e}")))?;
        if header.alg != self.algorithm {
            return Err(rejected(format!(
                "algorithm {:?} is not the configured one",
                header.alg
            )));
        }
        let kid = header.kid.ok_or_else(|| rejected("no kid"))?;
        let key = self
            .decoding
            .get(&kid)
            .ok_or_else(|| rejected("unknown kid"))?;
        let mut validation = Validation::new(self.algorithm);
        validation.algorithms = vec![self.algorithm];
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Expiry is checked by `verify` against the injected clock, without leeway.
        validation.validate_exp = false;
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map_err(|e| rejected(e.to_string()))?;
        let c = data.claims;
        let expires_at = from_unix(c.exp).ok_or_else(|| rejected("exp out of range"))?;
        let parse_id = |s: &str, what: &str| {
            s.parse::<i64>()
                .map_err(|_| rejected(format!("{what} is not an id")))
        };
        Ok(AccessClaims {
            user_id: UserId::new(parse_id(&c.sub, "sub")?),
            role: c
                .role
                .parse::<UserRole>()
                .map_err(|_| rejected("unknown role"))?,
            session_id: SessionId::new(parse_id(&c.sid, "sid")?),
            jti: c.jti,
            issued_at: from_unix(c.iat).ok_or_else(|| rejected("iat out of range"))?,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use chrono::TimeZone as _;
    use std::sync::LazyLock;

    static KEY: LazyLock<SigningKey> = LazyLock::new(|| {
        SigningKey::from_pem(secrecy::ExposeSecret::expose_secret(
            &crate::keys::generate_rsa_pem().unwrap(),
        ))
        .unwrap()
    });
    static OTHER_KEY: LazyLock<SigningKey> = LazyLock::new(|| {
        SigningKey::from_pem(secrecy::ExposeSecret::expose_secret(
            &crate::keys::generate_rsa_pem().unwrap(),
        ))
        .unwrap()
    });

    fn settings() -> JwtSettings {
        JwtSettings {
            issuer: "erp-mif-maroc".into(),
            audience: "erp-mif-maroc-api".into(),
            ttl_seconds: 900,
        }
    }

    fn rs(key: &SigningKey, previous: Vec<String>) -> JwtService {
        JwtService::new(
            &SigningConfig::Rs256 {
                signing: key.clone(),
                previous_public_pems: previous,
            },
            settings(),
        )
        .unwrap()
    }

    fn now() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).single().unwrap()
    }

    fn issue(svc: &JwtService) -> String {
        svc.issue(
            UserId::new(7),
            UserRole::Technicien,
            SessionId::new(3),
            now(),
        )
        .unwrap()
        .token
    }

    fn b64(v: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    fn parts(token: &str) -> (serde_json::Value, serde_json::Value, String) {
        let mut it = token.split('.');
        let h =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
        let c =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
        (h, c, it.next().unwrap().to_owned())
    }

    #[test]
    fn a_token_carries_every_claim_and_verifies() {
        let svc = rs(&KEY, vec![]);
        let token = issue(&svc);
        let (header, claims, _) = parts(&token);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], KEY.kid());
        assert_eq!(claims["sub"], "7");
        assert_eq!(claims["role"], "technicien");
        assert_eq!(claims["sid"], "3");
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            900
        );
        assert_eq!(claims["iss"], "erp-mif-maroc");
        assert_eq!(claims["aud"], "erp-mif-maroc-api");
        assert!(claims["jti"].as_str().unwrap().len() >= 32);
        let verified = svc.verify(&token, now()).unwrap();
        assert_eq!(verified.user_id, UserId::new(7));
        assert_eq!(verified.session_id, SessionId::new(3));
        assert_eq!(verified.role, UserRole::Technicien);
    }

    #[test]
    fn expiry_has_no_leeway() {
        let svc = rs(&KEY, vec![]);
        let token = issue(&svc);
        assert!(
            svc.verify(&token, now() + chrono::Duration::seconds(899))
                .is_ok()
        );
        assert!(
            svc.verify(&token, now() + chrono::Duration::seconds(900))
                .is_err()
        );
    }

    #[test]
    fn alg_none_is_refused() {
        let svc = rs(&KEY, vec![]);
        let (_, claims, _) = parts(&issue(&svc));
        let forged = format!(
            "{}.{}.",
            b64(&serde_json::json!({"alg": "none", "typ": "JWT", "kid": KEY.kid()})),
            b64(&claims)
        );
        assert!(svc.verify(&forged, now()).is_err());
    }

    #[test]
    fn hs256_signed_with_the_public_key_is_refused() {
        let svc = rs(&KEY, vec![]);
        let (_, claims, _) = parts(&issue(&svc));
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(KEY.kid().to_owned());
        let forged = jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(KEY.public_pem().as_bytes()),
        )
        .unwrap();
        let err = svc.verify(&forged, now()).unwrap_err();
        assert!(err.0.contains("algorithm"), "{err}");
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let svc = rs(&KEY, vec![]);
        let token = issue(&svc);
        let (header, mut claims, sig) = parts(&token);
        claims["role"] = "admin".into();
        let tampered = format!("{}.{}.{sig}", b64(&header), b64(&claims));
        assert!(svc.verify(&tampered, now()).is_err());
    }

    #[test]
    fn wrong_issuer_or_audience_is_refused() {
        let svc = rs(&KEY, vec![]);
        for (iss, aud) in [
            ("someone-else", "erp-mif-maroc-api"),
            ("erp-mif-maroc", "another-api"),
        ] {
            let other = JwtService::new(
                &SigningConfig::Rs256 {
                    signing: KEY.clone(),
                    previous_public_pems: vec![],
                },
                JwtSettings {
                    issuer: iss.into(),
                    audience: aud.into(),
                    ttl_seconds: 900,
                },
            )
            .unwrap();
            assert!(svc.verify(&issue(&other), now()).is_err(), "{iss} {aud}");
        }
    }

    #[test]
    fn an_unknown_kid_is_refused_and_rotation_keeps_old_tokens_valid() {
        let old = rs(&OTHER_KEY, vec![]);
        let old_token = issue(&old);
        let current = rs(&KEY, vec![]);
        assert_eq!(
            current.verify(&old_token, now()).unwrap_err().0,
            "unknown kid"
        );
        let rotated = rs(&KEY, vec![OTHER_KEY.public_pem().to_owned()]);
        assert!(
            rotated.verify(&old_token, now()).is_ok(),
            "a token of the previous key still verifies"
        );
        let (header, _, _) = parts(&issue(&rotated));
        assert_eq!(header["kid"], KEY.kid(), "new tokens use the new key");
    }

    #[test]
    fn hs256_works_only_when_configured_and_needs_a_long_secret() {
        let short = SigningConfig::Hs256 {
            secret: "short".to_owned().into(),
        };
        assert!(JwtService::new(&short, settings()).is_err());
        let hs = JwtService::new(
            &SigningConfig::Hs256 {
                secret: "x".repeat(32).into(),
            },
            settings(),
        )
        .unwrap();
        let token = issue(&hs);
        assert!(hs.verify(&token, now()).is_ok());
        assert!(
            rs(&KEY, vec![]).verify(&token, now()).is_err(),
            "an RS256 verifier refuses HS256"
        );
        assert!(
            hs.verify(&issue(&rs(&KEY, vec![])), now()).is_err(),
            "an HS256 verifier refuses RS256"
        );
    }

    #[test]
    fn garbage_is_refused() {
        let svc = rs(&KEY, vec![]);
        for token in ["", "abc", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.AAAA"] {
            assert!(svc.verify(token, now()).is_err(), "{token}");
        }
    }

    #[test]
    fn a_remembered_token_is_still_checked_for_expiry_and_only_its_exact_text_is_remembered() {
        let svc = rs(&KEY, vec![]);
        let token = issue(&svc);
        let first = svc.verify(&token, now()).unwrap();
        // Second use: from the remembered verification, same claims.
        assert_eq!(svc.verify(&token, now()).unwrap(), first);
        // Expiry is not remembered: 900 s later the same token is refused.
        let later = now() + chrono::Duration::seconds(900);
        assert_eq!(svc.verify(&token, later).unwrap_err().0, "expired");
        // A token differing by one signature character is verified on its own, and refused.
        let at = token.len() - 10;
        let was = &token[at..=at];
        let forged = format!(
            "{}{}{}",
            &token[..at],
            if was == "A" { "B" } else { "A" },
            &token[at + 1..]
        );
        assert!(svc.verify(&forged, now()).is_err());
        // A token of another key is refused although a token was remembered.
        let other = issue(&rs(&OTHER_KEY, vec![]));
        assert!(svc.verify(&other, now()).is_err());
    }

    #[test]
    fn the_remembered_tokens_stay_bounded() {
        let svc = rs(&KEY, vec![]);
        for session in 0..(VerifiedTokens::CAPACITY as i64 + 10) {
            let token = svc
                .issue(
                    UserId::new(7),
                    UserRole::Technicien,
                    SessionId::new(session),
                    now(),
                )
                .unwrap()
                .token;
            svc.verify(&token, now()).unwrap();
        }
        let held = svc.verified.map.lock().unwrap().len();
        assert!(held <= VerifiedTokens::CAPACITY, "{held}");
        assert!(held >= 10, "{held}");
    }
}
