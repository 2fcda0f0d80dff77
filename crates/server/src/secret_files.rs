//! Secrets read from files: every secret setting `VAR` may instead be given as `VAR_FILE`, the
//! path of a file holding it — the convention of the official PostgreSQL and Redis images, and
//! the shape of Kubernetes and compose secrets mounted as files. The file's trailing line end is
//! removed; setting both `VAR` and `VAR_FILE` is a start-up error, as is a file that cannot be
//! read, so a typo never silently falls back to a default.

/// The secret configuration keys and the variable of each (`ERP__DATABASE__URL_FILE` names the
/// file of `database.url`). `security.jwt_private_key` is not here: its file variant has been
/// the key `security.jwt_private_key_file` from the start.
pub const SECRET_SETTINGS: [(&str, &str); 7] = [
    ("database.url", "ERP__DATABASE__URL"),
    ("security.fernet_keys", "ERP__SECURITY__FERNET_KEYS"),
    (
        "security.jwt_hs256_secret",
        "ERP__SECURITY__JWT_HS256_SECRET",
    ),
    ("rate_limit.redis_url", "ERP__RATE_LIMIT__REDIS_URL"),
    ("email.password", "ERP__EMAIL__PASSWORD"),
    (
        "documents.s3.access_key_id",
        "ERP__DOCUMENTS__S3__ACCESS_KEY_ID",
    ),
    (
        "documents.s3.secret_access_key",
        "ERP__DOCUMENTS__S3__SECRET_ACCESS_KEY",
    ),
];

/// The secrets read outside the `ERP__` keys: the Fernet key ring's historical name, the first
/// admin's password, and the S3 credentials of the AWS convention.
pub const PROCESS_SECRETS: [&str; 4] = [
    "FERNET_KEYS",
    "ERP_BOOTSTRAP_ADMIN_PASSWORD",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
];

/// The name of `var`'s file variable.
#[must_use]
pub fn file_var(var: &str) -> String {
    format!("{var}_FILE")
}

fn set(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

/// The content of the file that `<var>_FILE` names, when that variable is set.
///
/// # Errors
/// Why it cannot be used: `var` is set too, or the file cannot be read.
pub fn from_file(var: &str) -> Result<Option<String>, String> {
    let file_var = file_var(var);
    let Some(path) = set(&file_var) else {
        return Ok(None);
    };
    if set(var).is_some() {
        return Err(format!("set {var} or {file_var}, not both"));
    }
    let path = path.trim();
    let content = std::fs::read_to_string(path).map_err(|e| format!("{file_var} ({path}): {e}"))?;
    Ok(Some(content.trim_end_matches(['\n', '\r']).to_owned()))
}

/// `var`'s value, else the content of the file `<var>_FILE` names; `None` when neither is set
/// (an empty value counts as unset).
///
/// # Errors
/// As [`from_file`].
pub fn from_env_or_file(var: &str) -> Result<Option<String>, String> {
    match from_file(var)? {
        Some(content) => Ok(Some(content)),
        None => Ok(set(var)),
    }
}

#[cfg(test)]
mod tests {
    #![expect(
        clippy::result_large_err,
        reason = "figment::Jail fixes the closure's error type"
    )]

    use super::*;
    use figment::Jail;

    #[test]
    fn a_file_variable_gives_the_file_without_its_line_end() {
        Jail::expect_with(|jail| {
            jail.create_file("secret", "s3cr3t with inner spaces \r\n")?;
            jail.set_env("ERP_T_FILE", jail.directory().join("secret").display());
            assert_eq!(
                from_env_or_file("ERP_T"),
                Ok(Some("s3cr3t with inner spaces ".to_owned()))
            );
            Ok(())
        });
    }

    #[test]
    fn the_variable_alone_is_used_and_nothing_is_none() {
        Jail::expect_with(|jail| {
            assert_eq!(from_env_or_file("ERP_T"), Ok(None));
            jail.set_env("ERP_T", "");
            assert_eq!(from_env_or_file("ERP_T"), Ok(None), "empty is unset");
            jail.set_env("ERP_T", "value");
            assert_eq!(from_env_or_file("ERP_T"), Ok(Some("value".to_owned())));
            assert_eq!(from_file("ERP_T"), Ok(None));
            Ok(())
        });
    }

    #[test]
    fn both_set_or_an_unreadable_file_is_an_error() {
        Jail::expect_with(|jail| {
            jail.create_file("secret", "x")?;
            jail.set_env("ERP_T", "value");
            jail.set_env("ERP_T_FILE", jail.directory().join("secret").display());
            assert_eq!(
                from_env_or_file("ERP_T"),
                Err("set ERP_T or ERP_T_FILE, not both".to_owned())
            );
            jail.set_env("ERP_T", "");
            jail.set_env("ERP_T_FILE", jail.directory().join("missing").display());
            let e = from_env_or_file("ERP_T").unwrap_err();
            assert!(e.starts_with("ERP_T_FILE ("), "{e}");
            assert!(e.contains("missing"), "{e}");
            Ok(())
        });
    }
}
