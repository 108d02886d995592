//! The fast path of mapping: one pass over a record's JSON text that checks
//! it against the schema's [`Shape`] as it parses, and keeps as values only
//! the members the fields' paths start with. Nothing else is allocated: no
//! `serde_json::Value` tree of the whole record is ever built.
//!
//! The pass either succeeds, with the same values the full path would have
//! looked up, or gives up (not sure the record is valid, a duplicate key on
//! a path it needs, bad JSON, a payload that is missing or not an object).
//! Giving up is always safe: the caller then parses the record fully and
//! maps it the ordinary way, which also words every problem and error.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::shape::Shape;
use crate::source::members::UniqueMembers;

/// Accepts everything; walked where the schema says nothing.
static ANY: Shape = Shape::ANY;

/// What the pass needs: where the payload is, its shape, and which of its
/// members to keep.
#[derive(Debug)]
pub(crate) struct ScanPlan {
    /// Object keys from the line's root down to the payload.
    record_path: Vec<String>,
    /// The payload's shape; `None` when the pipeline declares no schema.
    shape: Option<Shape>,
    /// Payload members kept as values, in slot order.
    slots: Vec<Slot>,
}

/// A payload member the scan keeps.
#[derive(Debug)]
pub(crate) struct Slot {
    /// The member's name.
    pub(crate) name: Box<str>,
    /// Set when the member's one user starts by plucking this key from
    /// each element: objects in the array then keep only that member (the
    /// others are checked and skipped), which plucks to the same values.
    pub(crate) pluck: Option<Box<str>>,
}

/// Why the pass gave up; the full path will tell the real story.
#[derive(Debug)]
pub(crate) struct GiveUp;

impl ScanPlan {
    /// A plan keeping the payload members `slots`.
    pub(crate) fn new(record_path: Vec<String>, shape: Option<Shape>, slots: Vec<Slot>) -> Self {
        ScanPlan {
            record_path,
            shape,
            slots,
        }
    }

    /// Runs the pass over one record's text, filling `slots` (cleared first).
    pub(crate) fn scan(&self, text: &str, slots: &mut Vec<Option<Value>>) -> Result<(), GiveUp> {
        slots.clear();
        slots.resize(self.slots.len(), None);
        let mut de = serde_json::Deserializer::from_str(text);
        Descend {
            plan: self,
            depth: 0,
            slots,
        }
        .deserialize(&mut de)
        .map_err(|_| GiveUp)?;
        // As `serde_json::from_str` does: only whitespace may follow.
        de.end().map_err(|_| GiveUp)
    }

    fn slot(&self, key: &str) -> Option<usize> {
        self.slots
            .iter()
            .position(|slot| slot.name.len() == key.len() && *slot.name == *key)
    }
}

fn give_up<E: de::Error>() -> E {
    E::custom("fast path gave up")
}

/// The shape member `key` of an object of `shape` must fit, marking a
/// declared property as seen. A property named twice gives up: the full
/// parse decides what a repeated member means.
fn member_shape<'s, E: de::Error>(
    shape: &'s Shape,
    key: &str,
    seen: &mut u64,
) -> Result<&'s Shape, E> {
    match shape.property(key) {
        Some(index) => {
            if *seen & (1 << index) != 0 {
                return Err(give_up());
            }
            *seen |= 1 << index;
            Ok(shape.property_shape(index))
        }
        None => Ok(shape.additional().unwrap_or(&ANY)),
    }
}

/// The member names of one object so far. A name seen twice gives up, so
/// the full parse refuses the record (`source::duplicate-member`) whichever
/// member repeats, read or not. This runs for every member of every object
/// of every record, so the common case stays cheap: borrowed names (no
/// escapes) sit in an inline array with nothing to drop, and a class mask
/// spares most names the comparison with every earlier one.
struct Names<'de> {
    len: usize,
    /// One bit per hash class of the names so far: a name whose class bit
    /// is clear cannot repeat an earlier one.
    classes: u64,
    inline: [&'de str; INLINE_NAMES],
    /// Names with escapes (owned), and borrowed ones past the inline array.
    other: Vec<Cow<'de, str>>,
}

/// Objects with at most this many members never allocate for [`Names`].
const INLINE_NAMES: usize = 24;

impl Default for Names<'_> {
    fn default() -> Self {
        Names {
            len: 0,
            classes: 0,
            inline: [""; INLINE_NAMES],
            other: Vec::new(),
        }
    }
}

impl<'de> Names<'de> {
    /// `key` is the object's next member name.
    fn first<E: de::Error>(&mut self, key: Cow<'de, str>) -> Result<(), E> {
        let bit = 1u64 << name_class(key.as_bytes());
        if self.classes & bit != 0 {
            let repeated =
                self.inline[..self.len].contains(&key.as_ref()) || self.other.contains(&key);
            if repeated {
                return Err(give_up());
            }
        }
        self.classes |= bit;
        match key {
            Cow::Borrowed(name) if self.len < INLINE_NAMES => {
                self.inline[self.len] = name;
                self.len += 1;
            }
            key => self.other.push(key),
        }
        Ok(())
    }
}

/// A 6-bit class of a member name from its length and three of its bytes
/// (FNV-1a steps): names of one record often share a prefix (`dit:...`),
/// so the first byte alone would put them all in one class.
fn name_class(name: &[u8]) -> u32 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64 ^ name.len() as u64;
    for byte in [name.first(), name.get(name.len() / 2), name.last()] {
        hash = (hash ^ u64::from(byte.copied().unwrap_or(0))).wrapping_mul(0x0100_0000_01b3);
    }
    (hash >> 58) as u32
}

/// Walks down the record path to the payload.
struct Descend<'a> {
    plan: &'a ScanPlan,
    depth: usize,
    slots: &'a mut Vec<Option<Value>>,
}

impl<'de> DeserializeSeed<'de> for Descend<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if self.depth == self.plan.record_path.len() {
            return deserializer.deserialize_any(Payload {
                plan: self.plan,
                slots: self.slots,
            });
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Descend<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object on the record path")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let step = self.plan.record_path[self.depth].as_str();
        let mut found = false;
        let mut names = Names::default();
        while let Some(key) = map.next_key_seed(Key)? {
            names.first(key.clone())?;
            if key == step {
                if found {
                    return Err(give_up());
                }
                found = true;
                map.next_value_seed(Descend {
                    plan: self.plan,
                    depth: self.depth + 1,
                    slots: self.slots,
                })?;
            } else {
                map.next_value_seed(Walk(&ANY))?;
            }
        }
        if found { Ok(()) } else { Err(give_up()) }
    }
}

/// The payload: checked against the schema, with the kept members taken.
struct Payload<'a> {
    plan: &'a ScanPlan,
    slots: &'a mut Vec<Option<Value>>,
}

impl<'de> Visitor<'de> for Payload<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the record's payload object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let shape = self.plan.shape.as_ref().unwrap_or(&ANY);
        if !shape.fits_object_start() {
            return Err(give_up());
        }
        let mut seen = 0u64;
        let mut names = Names::default();
        while let Some(key) = map.next_key_seed(Key)? {
            names.first(key.clone())?;
            let member = member_shape(shape, &key, &mut seen)?;
            match self.plan.slot(&key) {
                Some(slot) => {
                    let value = match &self.plan.slots[slot].pluck {
                        Some(key) => map.next_value_seed(Plucked { key, shape: member })?,
                        None => map.next_value_seed(Whole(member))?,
                    };
                    if self.slots[slot].is_some() {
                        return Err(give_up());
                    }
                    self.slots[slot] = Some(value);
                }
                None => map.next_value_seed(Walk(member))?,
            }
        }
        if shape.has_required(seen) {
            Ok(())
        } else {
            Err(give_up())
        }
    }
}

/// Checks one value against a shape without keeping anything.
#[derive(Clone, Copy)]
struct Walk<'a>(&'a Shape);

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        // `deserialize_any` parses every number and string fully, so a value
        // the full parser would refuse (a number out of range, a bad escape)
        // fails here too.
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<(), E> {
        check(self.0.fits_bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<(), E> {
        check(self.0.fits_integer(&Value::from(n)))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<(), E> {
        check(self.0.fits_integer(&Value::from(n)))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<(), E> {
        check(self.0.fits_float(&Value::from(n)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        check(self.0.fits_str(text))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        check(self.0.fits_null())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if !self.0.fits_array_start() {
            return Err(give_up());
        }
        let item = Walk(self.0.items().unwrap_or(&ANY));
        let mut count = 0u64;
        while seq.next_element_seed(item)?.is_some() {
            count += 1;
        }
        check(self.0.fits_item_count(count))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let shape = self.0;
        if !shape.fits_object_start() {
            return Err(give_up());
        }
        let mut seen = 0u64;
        let mut names = Names::default();
        while let Some(key) = map.next_key_seed(Key)? {
            names.first(key.clone())?;
            let member = member_shape(shape, &key, &mut seen)?;
            map.next_value_seed(Walk(member))?;
        }
        check(shape.has_required(seen))
    }
}

/// Keeps a whole value, once it is certain to fit its shape.
#[derive(Clone, Copy)]
struct Whole<'a>(&'a Shape);

impl<'de> DeserializeSeed<'de> for Whole<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        let value = UniqueMembers.deserialize(deserializer)?;
        if self.0.fits(&value) {
            Ok(value)
        } else {
            Err(give_up())
        }
    }
}

/// A kept member whose user plucks `key` from each element: an array's
/// object elements keep only `key`; anything else is kept whole (the
/// pluck then fails on it exactly as it would on the full value).
struct Plucked<'a> {
    key: &'a str,
    shape: &'a Shape,
}

impl<'de> DeserializeSeed<'de> for Plucked<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Builds a value from what a visitor was given and checks it whole.
fn whole<E: de::Error>(shape: &Shape, value: Value) -> Result<Value, E> {
    if shape.fits(&value) {
        Ok(value)
    } else {
        Err(give_up())
    }
}

/// The scalar visitor methods of a value kept whole, against `self.shape`.
macro_rules! keep_whole_scalars {
    () => {
        fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
            whole(self.shape, Value::Bool(b))
        }

        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
            whole(self.shape, Value::from(n))
        }

        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
            whole(self.shape, Value::from(n))
        }

        fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
            whole(self.shape, Value::from(n))
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Value, E> {
            whole(self.shape, Value::String(text.to_owned()))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
            whole(self.shape, Value::Null)
        }
    };
}

impl<'de> Visitor<'de> for Plucked<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    keep_whole_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if !self.shape.fits_array_start() {
            return Err(give_up());
        }
        let element = Element {
            key: self.key,
            shape: self.shape.items().unwrap_or(&ANY),
        };
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(element)? {
            items.push(item);
        }
        if self.shape.fits_item_count(items.len() as u64) {
            Ok(Value::Array(items))
        } else {
            Err(give_up())
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        let value = UniqueMembers.deserialize(de::value::MapAccessDeserializer::new(map))?;
        whole(self.shape, value)
    }
}

/// One element of a plucked array: an object keeps only `key`.
#[derive(Clone, Copy)]
struct Element<'a> {
    key: &'a str,
    shape: &'a Shape,
}

impl<'de> DeserializeSeed<'de> for Element<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Element<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    keep_whole_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        let value = UniqueMembers.deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        whole(self.shape, value)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let shape = self.shape;
        if !shape.fits_object_start() {
            return Err(give_up());
        }
        let mut seen = 0u64;
        let mut kept = None;
        let mut names = Names::default();
        while let Some(name) = map.next_key_seed(Key)? {
            names.first(name.clone())?;
            let member = member_shape(shape, &name, &mut seen)?;
            if name == self.key {
                kept = Some(map.next_value_seed(Whole(member))?);
            } else {
                map.next_value_seed(Walk(member))?;
            }
        }
        if !shape.has_required(seen) {
            return Err(give_up());
        }
        let mut object = serde_json::Map::new();
        if let Some(value) = kept {
            object.insert(self.key.to_owned(), value);
        }
        Ok(Value::Object(object))
    }
}

fn check<E: de::Error>(fits: bool) -> Result<(), E> {
    if fits { Ok(()) } else { Err(give_up()) }
}

/// An object key, borrowed from the text unless it had escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(text))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(schema: Option<Value>, slots: &[&str]) -> ScanPlan {
        ScanPlan::new(
            vec!["object".into()],
            schema.map(|s| Shape::compile(&s).unwrap()),
            slots
                .iter()
                .map(|s| Slot {
                    name: (*s).into(),
                    pluck: None,
                })
                .collect(),
        )
    }

    fn scan(plan: &ScanPlan, text: &str) -> Option<Vec<Option<Value>>> {
        let mut slots = Vec::new();
        plan.scan(text, &mut slots).ok().map(|()| slots)
    }

    #[test]
    fn keeps_only_the_named_members_of_the_payload() {
        let p = plan(None, &["b", "a", "missing"]);
        let got = scan(
            &p,
            r#"{"published": "x", "object": {"a": [1, {"k": "v"}], "b": "t\u00e9", "c": {"deep": [null]}}}"#,
        );
        assert_eq!(
            got,
            Some(vec![Some(json!("té")), Some(json!([1, {"k": "v"}])), None])
        );
    }

    #[test]
    fn a_repeated_member_gives_up_before_and_after_the_names_spill() {
        let p = plan(None, &["m1"]);
        let members = |repeat: usize, count: usize| {
            let mut names: Vec<String> = (0..count).map(|i| format!("\"m{i}\": {i}")).collect();
            names.push(format!("\"m{repeat}\": 0"));
            format!(r#"{{"object": {{{}}}}}"#, names.join(", "))
        };
        let unique = format!(
            r#"{{"object": {{{}}}}}"#,
            (0..40)
                .map(|i| format!("\"m{i}\": {i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        assert!(scan(&p, &unique).is_some(), "40 distinct members");
        assert!(scan(&p, &members(3, 5)).is_none(), "kept on the stack");
        assert!(
            scan(&p, &members(2, 30)).is_none(),
            "first kept inline, repeated past it"
        );
        assert!(
            scan(&p, &members(27, 30)).is_none(),
            "both past the inline names"
        );
    }

    #[test]
    fn gives_up_where_the_full_path_must_decide() {
        let p = plan(
            Some(json!({"required": ["id"], "properties": {"id": {"type": "string"}}})),
            &["id"],
        );
        for text in [
            r#"{"object": {"id": "a"}} x"#,
            r#"{"object": {"id": "a"}, "object": {"id": "b"}}"#,
            r#"{"object": {"id": "a", "id": "b"}}"#,
            r#"{"object": {"id": 5}}"#,
            r#"{"object": {}}"#,
            r#"{"object": []}"#,
            r#"{"other": {"id": "a"}}"#,
            r#"{"object": {"id": "a", "n": 1e999}}"#,
            r#"{"object": {"id": "a", "s": "\x"}}"#,
            r#"{"object": {"id": "a""#,
        ] {
            assert!(scan(&p, text).is_none(), "{text}");
        }
        assert!(scan(&p, r#"  {"object": {"id": "a", "n": 1e99}}  "#).is_some());
    }

    #[test]
    fn plucked_members_keep_only_the_plucked_key_of_object_elements() {
        let p = ScanPlan::new(
            vec!["object".into()],
            None,
            vec![Slot {
                name: "apps".into(),
                pluck: Some("key".into()),
            }],
        );
        let got = scan(
            &p,
            r#"{"object": {"apps": [{"key": 1, "x": 2}, null, "s", {"y": 1}, [1], {"x": 0, "key": "b"}]}}"#,
        );
        assert_eq!(
            got,
            Some(vec![Some(
                json!([{"key": 1}, null, "s", {}, [1], {"key": "b"}])
            )])
        );
        // A repeated member, plucked or not, gives up: the full parse
        // refuses the record (issue 13) instead of keeping the last value.
        for repeated in [
            r#"{"object": {"apps": [{"key": "a", "key": "b"}]}}"#,
            r#"{"object": {"apps": [{"x": 1, "key": "a", "x": 2}]}}"#,
            r#"{"object": {"apps": [], "other": 1, "other": 2}}"#,
            r#"{"object": {"apps": []}, "object": {"apps": []}}"#,
        ] {
            assert_eq!(scan(&p, repeated), None, "{repeated}");
        }
        let whole = scan(&p, r#"{"object": {"apps": {"key": 1, "x": 2}}}"#);
        assert_eq!(whole, Some(vec![Some(json!({"key": 1, "x": 2}))]));
    }

    #[test]
    fn checks_unkept_members_while_walking_them() {
        let p = plan(
            Some(json!({"properties": {
                "tags": {"type": "array", "items": {"type": "object", "required": ["key"]}},
                "name": {"type": "string", "minLength": 2}
            }})),
            &[],
        );
        assert!(scan(&p, r#"{"object": {"tags": [{"key": 1}], "name": "ab"}}"#).is_some());
        assert!(scan(&p, r#"{"object": {"tags": [{"nokey": 1}]}}"#).is_none());
        assert!(scan(&p, r#"{"object": {"name": "a"}}"#).is_none());
        assert!(scan(&p, r#"{"object": {"tags": {}}}"#).is_none());
    }
}
