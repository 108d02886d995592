//! A test's inline records written as an extract in the pipeline's source
//! format, so they go through the same decoders as a real one.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use rollcall_model::Format;
use rollcall_model::pipeline_test::InlineRecord;
use serde_json::Value;

use crate::plan::Plan;

/// Writes `records` into a file in `dir`; returns its path.
pub(super) fn write(plan: &Plan, records: &[InlineRecord], dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let (name, bytes) = match &plan.source.format {
        Format::Jsonl => ("records.jsonl", json_lines(records)),
        Format::Json => ("records.json", json_array(records)),
        Format::Csv(csv) => ("records.csv", csv_rows(records, csv)?),
    };
    let path = dir.join(name);
    std::fs::File::create(&path)?.write_all(&bytes)?;
    Ok(path)
}

fn text_of(record: &InlineRecord) -> String {
    match record {
        InlineRecord::Fields(fields) => Value::Object(fields.clone()).to_string(),
        InlineRecord::Json(value) => value.to_string(),
        InlineRecord::Line(line) => line.clone(),
    }
}

fn json_lines(records: &[InlineRecord]) -> Vec<u8> {
    records
        .iter()
        .map(|r| text_of(r) + "\n")
        .collect::<String>()
        .into_bytes()
}

fn json_array(records: &[InlineRecord]) -> Vec<u8> {
    let items: Vec<String> = records.iter().map(text_of).collect();
    format!("[\n{}\n]\n", items.join(",\n")).into_bytes()
}

/// A CSV with a header of every name the records use (first seen first),
/// or the pipeline's `columns` when the file has no header.
fn csv_rows(
    records: &[InlineRecord],
    options: &rollcall_model::CsvOptions,
) -> std::io::Result<Vec<u8>> {
    let mut columns: Vec<String> = options.columns.clone();
    if options.header || columns.is_empty() {
        for record in records {
            if let InlineRecord::Fields(fields) = record {
                for name in fields.keys() {
                    if !columns.contains(name) {
                        columns.push(name.clone());
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    if options.header {
        out.extend(csv_row(&columns, options)?);
    }
    for record in records {
        match record {
            InlineRecord::Fields(fields) => {
                let row: Vec<String> = columns
                    .iter()
                    .map(|c| match fields.get(c) {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Null) | None => String::new(),
                        Some(other) => other.to_string(),
                    })
                    .collect();
                out.extend(csv_row(&row, options)?);
            }
            // A line as it is (a malformed row); JSON has no CSV form.
            InlineRecord::Line(line) => {
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
            InlineRecord::Json(value) => {
                out.extend_from_slice(value.to_string().as_bytes());
                out.push(b'\n');
            }
        }
    }
    Ok(out)
}

/// One CSV row with the source's delimiter and quote.
fn csv_row(values: &[String], options: &rollcall_model::CsvOptions) -> std::io::Result<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(options.delimiter)
        .quote(options.quote)
        .from_writer(Vec::new());
    writer.write_record(values)?;
    writer
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use rollcall_model::{CsvOptions, Encoding};
    use serde_json::json;

    use super::*;

    fn fields(value: Value) -> InlineRecord {
        InlineRecord::Fields(value.as_object().unwrap().clone())
    }

    #[test]
    fn csv_records_get_a_header_of_every_name_and_the_source_delimiter() {
        let options = CsvOptions {
            delimiter: b';',
            quote: b'"',
            header: true,
            columns: Vec::new(),
            encoding: Encoding::Utf8,
            ragged_rows: false,
        };
        let records = [
            fields(json!({"id": "1", "name": "Ada; Countess"})),
            fields(json!({"id": "2", "age": 36})),
            InlineRecord::Line("broken;row;with;too;many".into()),
        ];
        let text = String::from_utf8(csv_rows(&records, &options).unwrap()).unwrap();
        assert_eq!(
            text,
            "id;name;age\n1;\"Ada; Countess\";\n2;;36\nbroken;row;with;too;many\n"
        );
    }

    #[test]
    fn json_records_are_lines_or_one_array() {
        let records = [fields(json!({"id": "1"})), InlineRecord::Json(json!([1]))];
        assert_eq!(json_lines(&records), b"{\"id\":\"1\"}\n[1]\n");
        assert_eq!(json_array(&records), b"[\n{\"id\":\"1\"},\n[1]\n]\n");
    }
}
