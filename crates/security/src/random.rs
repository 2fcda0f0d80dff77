//! Secrets from the operating system's CSPRNG.

use erp_domain::password::{self, PlainPassword};
use erp_domain::ports::SecretGenerator;
use rand::Rng;
use rand::rngs::OsRng;
use rand::seq::SliceRandom;

const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS: &[u8] = b"23456789";
const SYMBOLS: &[u8] = b"!#%+-=?@_";

/// Generated passwords are this long: far above the policy minimum, still typeable.
pub const GENERATED_PASSWORD_LEN: usize = 24;

/// [`SecretGenerator`] backed by the OS random source.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsSecretGenerator;

impl SecretGenerator for OsSecretGenerator {
    fn strong_password(&self) -> PlainPassword {
        loop {
            let candidate = generate(&mut OsRng);
            if password::failed_rules(&candidate).is_empty() {
                return PlainPassword::new(candidate);
            }
        }
    }
}

fn generate(rng: &mut impl Rng) -> String {
    let all: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS].concat();
    // One of each class guarantees the composition rules; the rest is uniform.
    let mut chars: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS]
        .iter()
        .filter_map(|class| class.choose(rng).copied())
        .collect();
    while chars.len() < GENERATED_PASSWORD_LEN {
        if let Some(c) = all.choose(rng) {
            chars.push(*c);
        }
    }
    chars.shuffle(rng);
    chars.into_iter().map(char::from).collect()
}

/// `n` random bytes from the OS.
#[must_use]
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0_u8; n];
    OsRng.fill(buf.as_mut_slice());
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_pass_the_policy_and_differ() {
        let g = OsSecretGenerator;
        let a = g.strong_password();
        let b = g.strong_password();
        assert!(password::failed_rules(a.expose()).is_empty());
        assert_eq!(a.expose().chars().count(), GENERATED_PASSWORD_LEN);
        assert_ne!(a.expose(), b.expose());
    }
}
