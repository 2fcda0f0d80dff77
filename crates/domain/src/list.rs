//! Collections (D14, API.md §1.4): pagination and sort keys.

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page size.
pub const MAX_LIMIT: i64 = 200;

/// A page: `limit` rows after skipping `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1–200.
    pub limit: i64,
    /// ≥ 0.
    pub offset: i64,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    /// Ascending.
    Asc,
    /// Descending (`-` prefix).
    Desc,
}

/// One sort key of a `sort` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey<F> {
    /// The field.
    pub field: F,
    /// Its direction.
    pub dir: SortDir,
}

/// One page of rows and the number of rows matching the filters.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<T> {
    /// The page.
    pub items: Vec<T>,
    /// `X-Total-Count`.
    pub total: i64,
}

/// Escapes `%`, `_` and `\` so a "contains" filter matches them literally
/// (`LIKE '%' || q || '%' ESCAPE '\'`).
#[must_use]
pub fn like_contains(normalised: &str) -> String {
    let mut out = String::with_capacity(normalised.len() + 2);
    out.push('%');
    for c in normalised.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_contains("a%b_c\\d"), "%a\\%b\\_c\\\\d%");
    }
}
