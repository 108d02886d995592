//! Parsing a JSON value whose objects name each member once. serde_json
//! keeps the last of two members with one name, silently; a record with
//! `"id"` twice (or two `person` objects) says two things, and which one a
//! run would use must not depend on the parser, so it is refused with the
//! place of the second name.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The start of the message a duplicate member fails with.
const DUPLICATE: &str = "duplicate member: ";

/// The member's name, when `message` is a duplicate member's error.
pub(crate) fn duplicate_in(message: &str) -> Option<&str> {
    message.strip_prefix(DUPLICATE)
}

/// The error for a second member named `key`.
pub(crate) fn duplicate<E: de::Error>(key: &str) -> E {
    E::custom(format_args!("{DUPLICATE}{key}"))
}

/// A [`Value`] like serde_json's own, refusing a repeated member name.
#[derive(Clone, Copy)]
pub(crate) struct UniqueMembers;

impl<'de> DeserializeSeed<'de> for UniqueMembers {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueMembers {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Value, E> {
        Ok(Value::String(text.to_owned()))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Value, E> {
        Ok(Value::String(text))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(duplicate(&key));
            }
            let value = map.next_value_seed(self)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Value, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        UniqueMembers.deserialize(&mut de)
    }

    #[test]
    fn a_member_named_twice_is_refused_where_it_repeats() {
        let err = parse(r#"{"id": "a", "x": [{"k": 1}], "id": "b"}"#).unwrap_err();
        assert!(err.to_string().starts_with("duplicate member: id"), "{err}");
        // Just after the second name.
        assert_eq!(err.column(), 33);
        // An escape spelling the same name is the same name.
        assert!(parse(r#"{"id": 1, "\u0069d": 2}"#).is_err());
        assert!(parse(r#"{"p": {"a": 1}, "q": {"a": 2}}"#).is_ok());
        assert_eq!(
            parse(r#"{"a": [1, 2.5, null, true, "s"]}"#).unwrap(),
            serde_json::json!({"a": [1, 2.5, null, true, "s"]})
        );
    }
}
