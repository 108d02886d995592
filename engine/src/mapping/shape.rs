//! A subset of JSON Schema cheap enough to check while a record is parsed:
//! `type`, `enum`, `const`, `required`, `properties`,
//! `additionalProperties`, `items` (one schema), `minLength`, `maxLength`,
//! `minItems`, `maxItems`, and annotations.
//!
//! A [`Shape`] only ever answers "certainly valid" or "not sure": every
//! check here is at least as strict as the JSON Schema keyword it stands
//! for, so a record it accepts is one the full validator accepts too, and
//! anything else goes to the full validator (which also words the
//! problems). A schema using any keyword outside the subset compiles to
//! nothing, and then every record takes the full path.

use serde_json::{Map, Value};

/// A compiled schema node of the subset.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    /// Allowed JSON types; `None` allows all.
    types: Option<Types>,
    /// Allowed values (`enum`, `const`); `None` allows all.
    values: Option<Vec<Value>>,
    /// Object keys that must be present, as indexes into `properties`.
    required: Vec<usize>,
    /// Declared properties and their shapes.
    properties: Vec<(Box<str>, Shape)>,
    /// The shape of undeclared properties; `None` allows anything.
    additional: Option<Box<Shape>>,
    /// The shape of every array item; `None` allows anything.
    items: Option<Box<Shape>>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    /// The boolean schema `false`: nothing is valid.
    never: bool,
}

/// A set of JSON types as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Types(u8);

impl Types {
    pub(crate) const NULL: Types = Types(1);
    pub(crate) const BOOLEAN: Types = Types(2);
    /// Integers as parsed (no fraction, no exponent), checked exactly.
    pub(crate) const INTEGER: Types = Types(4);
    /// `number` also admits integers.
    pub(crate) const NUMBER: Types = Types(8 | 4);
    pub(crate) const STRING: Types = Types(16);
    pub(crate) const ARRAY: Types = Types(32);
    pub(crate) const OBJECT: Types = Types(64);

    fn contains(self, other: Types) -> bool {
        self.0 & other.0 == other.0
    }

    fn parse(name: &str) -> Option<Types> {
        Some(match name {
            "null" => Types::NULL,
            "boolean" => Types::BOOLEAN,
            "integer" => Types::INTEGER,
            "number" => Types::NUMBER,
            "string" => Types::STRING,
            "array" => Types::ARRAY,
            "object" => Types::OBJECT,
            _ => return None,
        })
    }
}

/// Keywords that never affect validity, as the full validator reads them.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "examples",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// How many properties one object shape may declare (a seen-set is a `u64`).
pub(crate) const MAX_PROPERTIES: usize = 64;

impl Shape {
    /// The shape that accepts every value (the schema `true`).
    pub(crate) const ANY: Shape = Shape {
        types: None,
        values: None,
        required: Vec::new(),
        properties: Vec::new(),
        additional: None,
        items: None,
        min_length: None,
        max_length: None,
        min_items: None,
        max_items: None,
        never: false,
    };

    /// Compiles `schema` when every keyword in it is in the subset.
    pub(crate) fn compile(schema: &Value) -> Option<Shape> {
        match schema {
            Value::Bool(true) => Some(Shape::ANY),
            Value::Bool(false) => Some(Shape {
                never: true,
                ..Shape::ANY
            }),
            Value::Object(keywords) => Shape::compile_object(keywords),
            _ => None,
        }
    }

    fn compile_object(keywords: &Map<String, Value>) -> Option<Shape> {
        let mut shape = Shape::ANY;
        let mut required: Vec<&str> = Vec::new();
        for (keyword, value) in keywords {
            match keyword.as_str() {
                k if ANNOTATIONS.contains(&k) => {}
                "type" => {
                    shape.types = Some(match value {
                        Value::String(name) => Types::parse(name)?,
                        Value::Array(names) => {
                            let mut types = Types(0);
                            for name in names {
                                types.0 |= Types::parse(name.as_str()?)?.0;
                            }
                            types
                        }
                        _ => return None,
                    })
                }
                "enum" => shape.values = Some(value.as_array()?.clone()),
                "const" => shape.values = Some(vec![value.clone()]),
                "required" => {
                    for name in value.as_array()? {
                        required.push(name.as_str()?);
                    }
                }
                "properties" => {
                    for (name, schema) in value.as_object()? {
                        shape
                            .properties
                            .push((name.as_str().into(), Shape::compile(schema)?));
                    }
                }
                "additionalProperties" => {
                    shape.additional = Some(Box::new(Shape::compile(value)?));
                }
                "items" => shape.items = Some(Box::new(Shape::compile(value)?)),
                "minLength" => shape.min_length = Some(value.as_u64()?),
                "maxLength" => shape.max_length = Some(value.as_u64()?),
                "minItems" => shape.min_items = Some(value.as_u64()?),
                "maxItems" => shape.max_items = Some(value.as_u64()?),
                _ => return None,
            }
        }
        // A required key the schema does not declare gets a permissive
        // property, so presence can be tracked like any other.
        let mut undeclared = false;
        for name in required {
            let index = match shape.property(name) {
                Some(index) => index,
                None => {
                    undeclared = true;
                    shape.properties.push((name.into(), Shape::ANY));
                    shape.properties.len() - 1
                }
            };
            if !shape.required.contains(&index) {
                shape.required.push(index);
            }
        }
        if undeclared && shape.additional.is_some() {
            // Its value would escape `additionalProperties`.
            return None;
        }
        (shape.properties.len() <= MAX_PROPERTIES).then_some(shape)
    }

    /// The index of a declared property.
    pub(crate) fn property(&self, name: &str) -> Option<usize> {
        self.properties
            .iter()
            .position(|(declared, _)| declared.len() == name.len() && **declared == *name)
    }

    /// The shape of property `index`.
    pub(crate) fn property_shape(&self, index: usize) -> &Shape {
        &self.properties[index].1
    }

    /// The shape of undeclared properties, when constrained.
    pub(crate) fn additional(&self) -> Option<&Shape> {
        self.additional.as_deref()
    }

    /// The shape of array items, when constrained.
    pub(crate) fn items(&self) -> Option<&Shape> {
        self.items.as_deref()
    }

    /// Whether an object that has exactly the properties in `seen` (bit `i`
    /// for property `i`) has all the required ones.
    pub(crate) fn has_required(&self, seen: u64) -> bool {
        self.required.iter().all(|index| seen & (1 << index) != 0)
    }

    /// Whether a value of this type is allowed at all (before its contents).
    fn allows(&self, types: Types) -> bool {
        !self.never && self.types.is_none_or(|allowed| allowed.contains(types))
    }

    /// Whether `value` is one of the `enum`/`const` values. Exact equality
    /// is stricter than JSON Schema's (`1` and `1.0` differ here), which
    /// only sends such records to the full validator.
    fn listed(&self, value: impl Fn(&Value) -> bool) -> bool {
        self.values
            .as_ref()
            .is_none_or(|values| values.iter().any(value))
    }

    /// Whether the shape admits `null`.
    pub(crate) fn fits_null(&self) -> bool {
        self.allows(Types::NULL) && self.listed(Value::is_null)
    }

    /// Whether the shape admits a boolean.
    pub(crate) fn fits_bool(&self, b: bool) -> bool {
        self.allows(Types::BOOLEAN) && self.listed(|v| v.as_bool() == Some(b))
    }

    /// Whether the shape admits an integer (as parsed: no fraction or exponent).
    pub(crate) fn fits_integer(&self, value: &Value) -> bool {
        self.allows(Types::INTEGER) && self.listed(|v| v == value)
    }

    /// Whether the shape admits a number with a fraction or an exponent.
    pub(crate) fn fits_float(&self, value: &Value) -> bool {
        // `integer` may admit 2.0 in JSON Schema; that is left to the full validator.
        self.allows(Types::NUMBER) && self.listed(|v| v == value)
    }

    /// Whether the shape admits the string `text`.
    pub(crate) fn fits_str(&self, text: &str) -> bool {
        if !self.allows(Types::STRING) || !self.listed(|v| v.as_str() == Some(text)) {
            return false;
        }
        if self.min_length.is_none() && self.max_length.is_none() {
            return true;
        }
        // JSON Schema counts characters (code points), not bytes.
        let length = text.chars().count() as u64;
        self.min_length.is_none_or(|min| length >= min)
            && self.max_length.is_none_or(|max| length <= max)
    }

    /// Whether an array may start here; its items are checked one by one,
    /// then [`Shape::fits_item_count`].
    pub(crate) fn fits_array_start(&self) -> bool {
        // `enum` of arrays would need the whole array: left to the full validator.
        self.allows(Types::ARRAY) && self.values.is_none()
    }

    /// Whether an array of `count` items is long enough and short enough.
    pub(crate) fn fits_item_count(&self, count: u64) -> bool {
        self.min_items.is_none_or(|min| count >= min)
            && self.max_items.is_none_or(|max| count <= max)
    }

    /// Whether an object may start here; see [`Shape::has_required`].
    pub(crate) fn fits_object_start(&self) -> bool {
        self.allows(Types::OBJECT) && self.values.is_none()
    }

    /// Whether a whole value fits (used on values kept for mapping).
    pub(crate) fn fits(&self, value: &Value) -> bool {
        match value {
            Value::Null => self.fits_null(),
            Value::Bool(b) => self.fits_bool(*b),
            Value::Number(n) if n.is_f64() => self.fits_float(value),
            Value::Number(_) => self.fits_integer(value),
            Value::String(text) => self.fits_str(text),
            Value::Array(items) => {
                self.fits_array_start()
                    && self.fits_item_count(items.len() as u64)
                    && items
                        .iter()
                        .all(|item| self.items().is_none_or(|shape| shape.fits(item)))
            }
            Value::Object(members) => {
                if !self.fits_object_start() {
                    return false;
                }
                let mut seen = 0u64;
                for (name, member) in members {
                    let fits = match self.property(name) {
                        Some(index) => {
                            seen |= 1 << index;
                            self.property_shape(index).fits(member)
                        }
                        None => self.additional().is_none_or(|shape| shape.fits(member)),
                    };
                    if !fits {
                        return false;
                    }
                }
                self.has_required(seen)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape(schema: Value) -> Shape {
        Shape::compile(&schema).expect("in the subset")
    }

    #[test]
    fn keywords_outside_the_subset_compile_to_nothing() {
        for schema in [
            json!({"$ref": "other.json"}),
            json!({"pattern": "^a"}),
            json!({"format": "email"}),
            json!({"minimum": 1}),
            json!({"items": [{"type": "string"}]}),
            json!({"properties": {"a": {"anyOf": []}}}),
            json!({"type": "decimal"}),
            json!({"x-vendor": true}),
            json!(3),
        ] {
            assert!(Shape::compile(&schema).is_none(), "{schema}");
        }
    }

    #[test]
    fn the_staff_sso_schema_is_in_the_subset() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../schemas/staff-sso-record.schema.json"
        ))
        .unwrap();
        assert!(Shape::compile(&serde_json::from_str(&text).unwrap()).is_some());
    }

    #[test]
    fn whole_values_are_checked_like_the_keywords_say() {
        let s = shape(json!({
            "type": "object",
            "required": ["id", "extra"],
            "properties": {
                "id": {"type": "string", "minLength": 2, "maxLength": 3},
                "kind": {"const": "user"},
                "status": {"enum": ["active", "inactive"]},
                "n": {"type": ["integer", "null"]},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2}
            }
        }));
        assert!(s.fits(&json!({"id": "ab", "extra": [1], "kind": "user", "n": null})));
        assert!(s.fits(&json!({"id": "äbc", "extra": 1, "tags": ["x", "y"], "n": 3})));
        for bad in [
            json!({"id": "ab"}),
            json!({"id": "a", "extra": 1}),
            json!({"id": "abcd", "extra": 1}),
            json!({"id": "ab", "extra": 1, "kind": "robot"}),
            json!({"id": "ab", "extra": 1, "status": "gone"}),
            json!({"id": "ab", "extra": 1, "n": 1.5}),
            json!({"id": "ab", "extra": 1, "tags": [1]}),
            json!({"id": "ab", "extra": 1, "tags": ["a", "b", "c"]}),
            json!([]),
        ] {
            assert!(!s.fits(&bad), "{bad}");
        }
    }

    #[test]
    fn additional_properties_and_boolean_schemas() {
        let s = shape(json!({"properties": {"a": true}, "additionalProperties": {"type": "null"}}));
        assert!(s.fits(&json!({"a": 1, "b": null})));
        assert!(!s.fits(&json!({"a": 1, "b": 2})));
        assert!(!shape(json!(false)).fits(&json!(null)));
        assert!(shape(json!(true)).fits(&json!({"anything": [1]})));
    }

    /// Whatever a shape admits, the full validator admits: checked on the
    /// staff-SSO schema with every member of a sample record dropped or
    /// replaced by values of every type.
    #[test]
    fn admitted_values_are_valid_for_the_full_validator() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../schemas/staff-sso-record.schema.json"
        ))
        .unwrap();
        let schema: Value = serde_json::from_str(&text).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let shape = Shape::compile(&schema).unwrap();
        let sample = json!({"id": "dit:StaffSSO:User:1", "type": "dit:StaffSSO:User", "name": "A B",
            "dit:StaffSSO:User:userId": "1", "dit:StaffSSO:User:emailUserId": "a@b.c",
            "dit:StaffSSO:User:contactEmailAddress": null, "dit:StaffSSO:User:joined": "j",
            "dit:StaffSSO:User:lastAccessed": "l", "dit:StaffSSO:User:permittedApplications": [{"key": "k"}],
            "dit:StaffSSO:User:status": "active", "dit:StaffSSO:User:becameInactiveOn": null,
            "dit:firstName": "A", "dit:lastName": "B", "dit:emailAddress": ["a@b.c"]});
        let replacements = [
            json!(null),
            json!(true),
            json!(0),
            json!(-3),
            json!(2.5),
            json!(""),
            json!("ab"),
            json!("active"),
            json!("dit:StaffSSO:User"),
            json!([]),
            json!([null]),
            json!(["x"]),
            json!([{"key": "k"}]),
            json!([{"key": 1}]),
            json!([{}]),
            json!({}),
            json!({"key": "k"}),
        ];
        let members: Vec<String> = sample.as_object().unwrap().keys().cloned().collect();
        let mut admitted = 0;
        let mut check = |instance: &Value| {
            if shape.fits(instance) {
                admitted += 1;
                assert!(validator.is_valid(instance), "{instance}");
            }
        };
        check(&sample);
        for member in &members {
            let mut dropped = sample.clone();
            dropped.as_object_mut().unwrap().remove(member);
            check(&dropped);
            for replacement in &replacements {
                let mut replaced = sample.clone();
                replaced[member.as_str()] = replacement.clone();
                check(&replaced);
            }
        }
        check(&json!([]));
        check(&json!("x"));
        assert!(admitted > members.len(), "the shape admits valid records");
    }
}
