//! CORS policy (API.md §1.8): exact origin matching from configuration.

/// Methods announced to preflights.
pub const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
/// Request headers announced to preflights.
pub const ALLOW_HEADERS: &str =
    "Authorization, Content-Type, Accept, Origin, X-Requested-With, X-Request-ID, If-Match";
/// Response headers exposed to scripts.
pub const EXPOSE_HEADERS: &str =
    "X-Request-ID, X-Total-Count, Retry-After, ETag, Content-Disposition, Location";
/// How long a preflight may be cached, in seconds.
pub const MAX_AGE_SECONDS: &str = "600";

/// The origins allowed to call the API from a browser.
#[derive(Debug, Clone, Default)]
pub struct CorsPolicy {
    origins: Vec<String>,
    any: bool,
}

impl CorsPolicy {
    /// A policy from configured origins; `*` allows every origin (refused in production by the
    /// configuration loader). Trailing slashes are ignored.
    #[must_use]
    pub fn new(origins: &[String]) -> Self {
        let any = origins.iter().any(|o| o.trim() == "*");
        let origins = origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty() && o != "*")
            .collect();
        Self { origins, any }
    }

    /// Whether `origin` may call the API.
    #[must_use]
    pub fn allows(&self, origin: &str) -> bool {
        self.any || self.origins.iter().any(|o| o == origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_exactly() {
        let p = CorsPolicy::new(&[
            "http://localhost:3000/".into(),
            " https://erp.mif.ma ".into(),
        ]);
        assert!(p.allows("http://localhost:3000"));
        assert!(p.allows("https://erp.mif.ma"));
        assert!(!p.allows("http://localhost:3001"));
        assert!(!p.allows("https://erp.mif.ma.evil.com"));
        assert!(CorsPolicy::new(&["*".into()]).allows("https://anything"));
        assert!(!CorsPolicy::new(&[]).allows("https://anything"));
    }
}
