//! The text of a mapped value, as used by comparisons, value tables and keys.

use std::borrow::Cow;

use serde_json::Value;

/// The text a value compares as: strings as they are, numbers and booleans
/// as their JSON text, null as `""`, arrays and objects as compact JSON.
pub fn value_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(text) => Cow::Borrowed(text),
        Value::Null => Cow::Borrowed(""),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::Number(number) => Cow::Owned(number.to_string()),
        // Compact JSON is what a pipeline author sees in a JSONL source, so it
        // is the least surprising text for a structured value.
        Value::Array(_) | Value::Object(_) => Cow::Owned(value.to_string()),
    }
}

/// How a value's type is named in problems ("got a number").
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_borrowed_as_they_are() {
        let value = json!(" Mixed Case ");
        assert!(matches!(value_text(&value), Cow::Borrowed(" Mixed Case ")));
    }

    #[test]
    fn scalars_use_their_json_text() {
        assert_eq!(value_text(&json!(42)), "42");
        assert_eq!(value_text(&json!(-1.5)), "-1.5");
        assert_eq!(value_text(&json!(true)), "true");
        assert_eq!(value_text(&json!(false)), "false");
        assert_eq!(value_text(&Value::Null), "");
    }

    #[test]
    fn structured_values_use_compact_json_in_their_order() {
        assert_eq!(value_text(&json!(["a", 1])), r#"["a",1]"#);
        assert_eq!(value_text(&json!({"z": 1, "a": 2})), r#"{"z":1,"a":2}"#);
    }
}
