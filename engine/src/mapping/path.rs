//! Record paths: reading a value out of a raw record by keys and indexes.

use rollcall_model::PathSegment;
use serde_json::Value;

/// The value at `path` inside `record`, or `None` when any step is missing
/// (an absent key, an index past the end, or a step into the wrong type).
pub(crate) fn lookup<'a>(record: &'a Value, path: &[PathSegment]) -> Option<&'a Value> {
    path.iter()
        .try_fold(record, |value, segment| match segment {
            PathSegment::Key(key) => value.as_object()?.get(key),
            PathSegment::Index(index) => value.as_array()?.get(*index),
        })
}

pub(crate) use rollcall_model::describe_path as describe;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(text: &str) -> PathSegment {
        PathSegment::Key(text.to_owned())
    }

    #[test]
    fn keys_may_contain_colons_and_dots() {
        let record = json!({"dit:StaffSSO:User:userId": "u1", "a.b": 2});
        assert_eq!(
            lookup(&record, &[key("dit:StaffSSO:User:userId")]),
            Some(&json!("u1"))
        );
        assert_eq!(lookup(&record, &[key("a.b")]), Some(&json!(2)));
    }

    #[test]
    fn nested_keys_and_array_indexes() {
        let record = json!({"manager": {"id": 7}, "emails": ["x@a", "y@b"]});
        assert_eq!(
            lookup(&record, &[key("manager"), key("id")]),
            Some(&json!(7))
        );
        assert_eq!(
            lookup(&record, &[key("emails"), PathSegment::Index(1)]),
            Some(&json!("y@b"))
        );
    }

    #[test]
    fn missing_steps_give_none() {
        let record = json!({"emails": ["x@a"], "name": "n"});
        assert_eq!(lookup(&record, &[key("absent")]), None);
        assert_eq!(
            lookup(&record, &[key("emails"), PathSegment::Index(3)]),
            None
        );
        assert_eq!(lookup(&record, &[key("name"), key("first")]), None);
        assert_eq!(lookup(&record, &[key("name"), PathSegment::Index(0)]), None);
    }

    #[test]
    fn empty_path_is_the_record_itself() {
        let record = json!({"a": 1});
        assert_eq!(lookup(&record, &[]), Some(&record));
    }

    #[test]
    fn describes_paths_readably() {
        assert_eq!(describe(&[key("manager"), key("id")]), "manager.id");
        assert_eq!(
            describe(&[key("dit:emailAddress"), PathSegment::Index(0)]),
            "dit:emailAddress[0]"
        );
    }
}
