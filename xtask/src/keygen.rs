//! `cargo xtask keygen`: an RS256 signing key pair and a Fernet key.

use std::path::Path;

use crate::{TaskResult, say};

pub(crate) fn keygen(out: &Path) -> TaskResult {
    let generated = erp_security::keys::generate_key_files(out).map_err(|e| e.to_string())?;
    for file in &generated.files {
        say(&format!("wrote {} (mode 0600)", file.display()));
    }
    say(&format!("signing key id (kid): {}", generated.kid));
    say(
        "use: ERP__SECURITY__JWT_PRIVATE_KEY_FILE=<out>/jwt-signing-key.pem and FERNET_KEYS=$(cat <out>/fernet.key); see docs/operations.md (key rotation)",
    );
    Ok(())
}
