//! Text normalisation shared by every case-insensitive column (`*_norm`, DATA.md §0.1).

/// `norm(s)`: trimmed, then Unicode-lowercased. Accents are kept.
#[must_use]
pub fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Number of Unicode scalar values, the unit every length rule of the API counts in.
#[must_use]
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norm_trims_and_lowercases_keeping_accents() {
        assert_eq!(norm("  Équipe NORD "), "équipe nord");
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        assert_eq!(char_len("éé"), 2);
    }
}
