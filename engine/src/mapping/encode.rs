//! The canonical byte encoding of mapped values, hashed into fingerprints.

use serde_json::Value;

/// Ends every encoded value. Compact JSON escapes every control character
/// inside strings and never writes one between tokens, so this byte cannot
/// occur inside an encoded value and the encoding is unambiguous.
const SEPARATOR: u8 = 0x1e;

/// Appends a stable, unambiguous encoding of `values` to `out`: each value as
/// compact JSON followed by `\x1e`. Object members keep their order (serde_json
/// `preserve_order`), so the bytes never depend on hash-map iteration.
pub fn encode_fields(values: &[Value], out: &mut Vec<u8>) {
    for value in values {
        // Writing JSON into a Vec cannot fail: there is no I/O and every
        // serde_json::Value is serialisable.
        serde_json::to_writer(&mut *out, value).expect("a JSON value encodes into memory");
        out.push(SEPARATOR);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encoded(values: &[Value]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_fields(values, &mut out);
        out
    }

    #[test]
    fn each_value_is_compact_json_then_a_separator() {
        let bytes = encoded(&[json!("a"), json!(1), Value::Null]);
        assert_eq!(bytes, b"\"a\"\x1e1\x1enull\x1e");
    }

    #[test]
    fn field_boundaries_cannot_be_confused() {
        // The same characters split differently must encode differently.
        assert_ne!(
            encoded(&[json!("a\u{1e}b"), json!("c")]),
            encoded(&[json!("a"), json!("b\u{1e}c")])
        );
        assert_ne!(
            encoded(&[json!("ab"), json!("")]),
            encoded(&[json!("a"), json!("b")])
        );
        assert_ne!(encoded(&[json!("1")]), encoded(&[json!(1)]));
    }

    #[test]
    fn object_members_keep_their_order() {
        let value: Value = serde_json::from_str(r#"{"z":1,"a":2}"#).unwrap();
        assert_eq!(encoded(&[value]), b"{\"z\":1,\"a\":2}\x1e");
    }

    #[test]
    fn appends_without_clearing() {
        let mut out = b"prefix".to_vec();
        encode_fields(&[json!(true)], &mut out);
        assert_eq!(out, b"prefixtrue\x1e");
    }
}
