//! `sink csv`: every present record as one row, in key order, with a fixed
//! column list.
//!
//! Written by hand rather than with the csv crate: the MIT feed quotes every
//! data field but not the header, which no writer option expresses.

use std::io::Write;

use rollcall_model::{CsvSink, QuoteStyle};
use serde_json::{Map, Value};

use super::SinkError;
use crate::mapping::value_text;
use crate::plan::Plan;
use crate::store::Tx;

/// Writes the header (unless turned off) and one row per present record.
pub(super) fn write(
    plan: &Plan,
    sink: &CsvSink,
    tx: &Tx<'_>,
    out: &mut dyn Write,
) -> Result<u64, SinkError> {
    let mut line = Vec::with_capacity(256);
    if sink.header {
        let headers = sink.columns.iter().map(|(header, _)| header.clone());
        // The header is plain names: quoted only where it must be.
        encode_row(
            headers,
            sink.delimiter,
            QuoteStyle::Necessary,
            false,
            &mut line,
        );
        out.write_all(&line)?;
    }
    let mut rows = 0;
    let mut failed = None;
    tx.for_each_present(&plan.name, |_, fields| {
        let cells = sink.columns.iter().map(|(_, field)| cell(&fields, field));
        encode_row(
            cells,
            sink.delimiter,
            sink.quote,
            sink.formula_guard,
            &mut line,
        );
        if let Err(err) = out.write_all(&line) {
            failed.get_or_insert(err);
        }
        rows += 1;
        Ok(())
    })?;
    match failed {
        Some(err) => Err(err.into()),
        None => Ok(rows),
    }
}

/// A field's text in a cell: arrays are their elements' text joined by `;`.
fn cell(fields: &Map<String, Value>, field: &str) -> String {
    match fields.get(field) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| value_text(item).into_owned())
            .collect::<Vec<_>>()
            .join(";"),
        Some(value) => value_text(value).into_owned(),
        None => String::new(),
    }
}

/// Encodes one row, ending in CRLF (RFC 4180), into `line`.
fn encode_row(
    cells: impl Iterator<Item = String>,
    delimiter: u8,
    quote: QuoteStyle,
    formula_guard: bool,
    line: &mut Vec<u8>,
) {
    line.clear();
    for (i, mut text) in cells.enumerate() {
        if i > 0 {
            line.push(delimiter);
        }
        if formula_guard && starts_like_formula(&text) {
            // A leading apostrophe makes spreadsheets show the text instead
            // of running it (CSV injection).
            text.insert(0, '\'');
        }
        let needs = text
            .bytes()
            .any(|b| matches!(b, b'"' | b'\r' | b'\n') || b == delimiter)
            || text.starts_with(' ')
            || text.ends_with(' ');
        if quote == QuoteStyle::All || needs {
            line.push(b'"');
            line.extend_from_slice(text.replace('"', "\"\"").as_bytes());
            line.push(b'"');
        } else {
            line.extend_from_slice(text.as_bytes());
        }
    }
    line.extend_from_slice(b"\r\n");
}

/// Whether a spreadsheet would read the text as a formula: it starts with
/// `=`, `+`, `-`, `@`, a tab or a carriage return, after any leading spaces
/// (spreadsheets skip them), or with the full-width `＝`, `＋`, `－`, `＠`
/// that some spreadsheets read as their ASCII forms.
fn starts_like_formula(text: &str) -> bool {
    let first = text
        .trim_start_matches([' ', '\u{a0}', '\u{3000}'])
        .chars()
        .next();
    matches!(
        first,
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '＝' | '＋' | '－' | '＠')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str], quote: QuoteStyle, guard: bool) -> String {
        let mut line = Vec::new();
        encode_row(
            cells.iter().map(|c| c.to_string()),
            b',',
            quote,
            guard,
            &mut line,
        );
        String::from_utf8(line).unwrap()
    }

    #[test]
    fn quote_all_quotes_every_field_and_doubles_quotes() {
        assert_eq!(
            row(&["Jane", "", "say \"hi\""], QuoteStyle::All, true),
            "\"Jane\",\"\",\"say \"\"hi\"\"\"\r\n"
        );
    }

    #[test]
    fn necessary_quotes_only_what_needs_it() {
        assert_eq!(
            row(&["a", "b,c", "d\ne", " f"], QuoteStyle::Necessary, true),
            "a,\"b,c\",\"d\ne\",\" f\"\r\n"
        );
    }

    #[test]
    fn the_formula_guard_prefixes_formula_starts() {
        assert_eq!(
            row(
                &["=1+1", "+x", "-2", "@SUM(A1)", "ok"],
                QuoteStyle::Necessary,
                true
            ),
            "'=1+1,'+x,'-2,'@SUM(A1),ok\r\n"
        );
        assert_eq!(row(&["=1+1"], QuoteStyle::Necessary, false), "=1+1\r\n");
        // Issue 13: leading spaces and full-width signs do not hide one.
        assert_eq!(
            row(
                &[" =1+2", "＝1+2", "\u{3000}＠A1", "a =1"],
                QuoteStyle::All,
                true
            ),
            "\"' =1+2\",\"'＝1+2\",\"'\u{3000}＠A1\",\"a =1\"\r\n"
        );
    }
}
