//! Small value parsers shared by the lowering: names, durations,
//! percentages and templates. Each returns a message saying what is wrong,
//! so the caller can point at the value.

use crate::model::{Duration, TemplatePart};

/// Whether `name` is a valid pipeline, field or lookup name: letters,
/// digits, `-`, `_` and `.`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Parses a duration such as `"90d"`, `"1d12h"` or `"30s"`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if text.is_empty() {
        return Err("the duration is empty".to_owned());
    }
    let mut seconds: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("expected a number at `{rest}`"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{}` is too large", &rest[..digits]))?;
        rest = &rest[digits..];
        let unit = rest
            .chars()
            .next()
            .ok_or_else(|| format!("`{number}` has no unit (s, m, h, d or w)"))?;
        let scale = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            other => return Err(format!("`{other}` is not a unit (s, m, h, d or w)")),
        };
        rest = &rest[unit.len_utf8()..];
        seconds = number
            .checked_mul(scale)
            .and_then(|s| seconds.checked_add(s))
            .ok_or_else(|| "the duration is too long".to_owned())?;
    }
    Ok(Duration { seconds })
}

/// Parses a percentage such as `"2%"` or `"0.5%"` (0 to 100).
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text
        .strip_suffix('%')
        .ok_or_else(|| format!("`{text}` is not a percentage such as \"2%\""))?;
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{number}` is not a number"))?;
    if !(0.0..=100.0).contains(&value) {
        return Err(format!("{value}% is outside 0% to 100%"));
    }
    Ok(value)
}

/// Parses a size such as `"16MiB"`, `"8GiB"`, `"500MB"` or `"4096"` (bytes).
/// Binary units (`KiB`, `MiB`, `GiB`, `TiB`) are powers of 1024, decimal ones
/// (`KB`, `MB`, `GB`, `TB`) powers of 1000; `B` or no unit means bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    if digits == 0 {
        return Err(format!(
            "`{text}` is not a size such as \"16MiB\" or \"8GiB\""
        ));
    }
    let number: u64 = text[..digits]
        .parse()
        .map_err(|_| format!("`{}` is too large", &text[..digits]))?;
    let scale: u64 = match text[digits..].trim_start() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        unit => {
            return Err(format!(
                "`{unit}` is not a unit (B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)"
            ));
        }
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// A `{field}` reference found in a template, with its byte range in the
/// template text (braces included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRef {
    /// The referenced field.
    pub field: String,
    /// Byte offset of `{` in the template text.
    pub offset: usize,
    /// Length including both braces.
    pub len: usize,
}

/// Splits a template into text and field references; `{{` and `}}` are
/// literal braces.
pub fn parse_template(text: &str) -> Result<(Vec<TemplatePart>, Vec<TemplateRef>), String> {
    let mut parts = Vec::new();
    let mut refs = Vec::new();
    let mut literal = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let close = text[i..]
                    .find('}')
                    .ok_or_else(|| format!("the `{{` at byte {i} is never closed"))?;
                let field = &text[i + 1..i + close];
                if field.trim().is_empty() {
                    return Err("`{}` names no field".to_owned());
                }
                if !literal.is_empty() {
                    parts.push(TemplatePart::Text(std::mem::take(&mut literal)));
                }
                parts.push(TemplatePart::Field(field.to_owned()));
                refs.push(TemplateRef {
                    field: field.to_owned(),
                    offset: i,
                    len: close + 1,
                });
                while chars.peek().is_some_and(|(j, _)| *j <= i + close) {
                    chars.next();
                }
            }
            '}' => return Err("a `}` closes nothing; write `}}` for a literal brace".to_owned()),
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        parts.push(TemplatePart::Text(literal));
    }
    Ok((parts, refs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_sum_their_parts() {
        assert_eq!(parse_duration("90d").unwrap().seconds, 90 * 86_400);
        assert_eq!(
            parse_duration("1d12h").unwrap().seconds,
            86_400 + 12 * 3_600
        );
        assert_eq!(parse_duration("30s").unwrap().seconds, 30);
        assert_eq!(parse_duration("2w").unwrap().seconds, 14 * 86_400);
        assert!(parse_duration("").is_err());
        assert!(parse_duration("90").is_err());
        assert!(parse_duration("3y").is_err());
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn percentages_are_zero_to_a_hundred() {
        assert_eq!(parse_percent("2%").unwrap(), 2.0);
        assert_eq!(parse_percent("0.5%").unwrap(), 0.5);
        assert!(parse_percent("2").is_err());
        assert!(parse_percent("101%").is_err());
        assert!(parse_percent("x%").is_err());
    }

    #[test]
    fn sizes_take_binary_and_decimal_units() {
        assert_eq!(parse_size("16MiB").unwrap(), 16 << 20);
        assert_eq!(parse_size("8GiB").unwrap(), 8 << 30);
        assert_eq!(parse_size("500MB").unwrap(), 500_000_000);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("10 KiB").unwrap(), 10 << 10);
        assert!(parse_size("").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("16 furlongs").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999TiB").is_err());
    }

    #[test]
    fn templates_split_into_text_and_fields() {
        let (parts, refs) = parse_template("{first} {last} {{x}}").unwrap();
        assert_eq!(
            parts,
            vec![
                TemplatePart::Field("first".into()),
                TemplatePart::Text(" ".into()),
                TemplatePart::Field("last".into()),
                TemplatePart::Text(" {x}".into()),
            ]
        );
        assert_eq!(refs[1].offset, 8);
        assert_eq!(refs[1].len, 6);
        assert!(parse_template("{open").is_err());
        assert!(parse_template("a {} b").is_err());
        assert!(parse_template("a } b").is_err());
    }

    #[test]
    fn names_allow_letters_digits_dash_underscore_dot() {
        assert!(is_valid_name("staff-sso.v2_x"));
        assert!(!is_valid_name("staff sso"));
        assert!(!is_valid_name(""));
    }
}
