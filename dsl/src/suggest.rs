//! "Did you mean ...?" for misspelt names.

/// The candidate closest to `word`, when one is close enough to be a
/// likely misspelling.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter(|candidate| *candidate != word)
        .map(|candidate| (strsim::jaro_winkler(word, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// Help text naming the closest candidate, or listing them all.
pub fn help_for(word: &str, what: &str, candidates: &[&str]) -> String {
    match did_you_mean(word, candidates.iter().copied()) {
        Some(best) => format!("did you mean `{best}`? ({what}: {})", list(candidates)),
        None => format!("{what}: {}", list(candidates)),
    }
}

/// Names as a comma-separated list of code spans.
pub fn list(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["format", "pick", "record", "columns"];
        assert_eq!(did_you_mean("fromat", names), Some("format"));
        assert_eq!(did_you_mean("colums", names), Some("columns"));
        assert_eq!(did_you_mean("zzz", names), None);
    }
}
