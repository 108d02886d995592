//! The change log: one row per record a run created, updated, removed or
//! reinstated, with the changed fields before and after.
//!
//! A creation is stored without its values (`after`): they are the
//! record's stored fields, or, once the record changed, those fields with
//! every later update's `before` put back ([`creation_values`]). A first
//! load thus writes each record's values once, not twice; backends fill
//! `after` in again on every read, so readers never see the difference.

use serde_json::{Map, Value};

use super::Result;

/// One entry of the change log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChangeRow {
    /// The run that made the change.
    pub run_id: i64,
    /// The pipeline.
    pub pipeline: String,
    /// The source key, when the change concerns a record.
    pub source_key: Option<String>,
    /// The person concerned.
    pub person_id: Option<i64>,
    /// `create`, `update`, `remove`, `reinstate`, ...
    pub action: String,
    /// Changed fields before (JSON object), if any.
    pub before: Option<Value>,
    /// Changed fields after (JSON object), if any.
    pub after: Option<Value>,
}

/// The change log: appended to by a run, read by `show`, `person` and `deliver`.
pub trait Changes {
    /// Appends one entry to the change log.
    fn log_change(&self, change: &ChangeRow) -> Result<()>;

    /// The change log of one record, oldest first.
    fn changes_of(&self, pipeline: &str, key: &str) -> Result<Vec<ChangeRow>>;

    /// The change log entries about one person, oldest first.
    fn changes_of_person(&self, person: i64) -> Result<Vec<ChangeRow>>;
}

/// The actions whose `before` and `after` are the record's own fields
/// (a `resync` row holds person attributes instead).
const FIELD_ACTIONS: [&str; 2] = ["update", "reinstate"];

/// Whether a backend stores `change` without its `after` values, because
/// [`creation_values`] gives them back from the record.
pub fn stored_without_values(change: &ChangeRow) -> bool {
    change.action == "create" && change.source_key.is_some()
}

/// The values a record was created with: `current` (its stored fields)
/// with the `before` of each field change in `later` (the record's log
/// after its creation, oldest first) put back, newest first. `None` when
/// the record is gone (purged), or was created again later, since then
/// its first values are no longer recorded anywhere.
pub fn creation_values(current: Option<Map<String, Value>>, later: &[ChangeRow]) -> Option<Value> {
    let mut fields = current?;
    if later.iter().any(|row| row.action == "create") {
        return None;
    }
    let undone = later
        .iter()
        .rev()
        .filter(|row| FIELD_ACTIONS.contains(&row.action.as_str()));
    for row in undone {
        if let Some(Value::Object(before)) = &row.before {
            for (name, value) in before {
                fields.insert(name.clone(), value.clone());
            }
        }
    }
    Some(Value::Object(fields))
}

/// Fills in the `after` of every creation in `rows` (one record's whole log,
/// oldest first) from the record's stored fields.
pub fn restore_creations(rows: &mut [ChangeRow], current: Option<&Map<String, Value>>) {
    for at in 0..rows.len() {
        if rows[at].after.is_none() && stored_without_values(&rows[at]) {
            let values = creation_values(current.cloned(), &rows[at + 1..]);
            rows[at].after = values;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row(action: &str, before: Option<Value>, after: Option<Value>) -> ChangeRow {
        ChangeRow {
            run_id: 1,
            pipeline: "p".into(),
            source_key: Some("k".into()),
            person_id: Some(1),
            action: action.into(),
            before,
            after,
        }
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_creation_gets_the_stored_fields_with_later_updates_undone() {
        let mut rows = vec![
            row("create", None, None),
            row(
                "update",
                Some(json!({"last": "Lee"})),
                Some(json!({"last": "Ray"})),
            ),
            row(
                "resync",
                Some(json!({"role.7.title": "x"})),
                Some(json!({"role.7.title": "y"})),
            ),
            row("remove", None, None),
            row(
                "reinstate",
                Some(json!({"dept": "HR"})),
                Some(json!({"dept": "IT"})),
            ),
        ];
        let current = object(json!({"first": "Liam", "last": "Ray", "dept": "IT"}));
        restore_creations(&mut rows, Some(&current));
        assert_eq!(
            rows[0].after,
            Some(json!({"first": "Liam", "last": "Lee", "dept": "HR"}))
        );
        assert_eq!(
            rows[1].after,
            Some(json!({"last": "Ray"})),
            "others untouched"
        );
    }

    #[test]
    fn a_creation_of_a_purged_or_recreated_record_has_no_values() {
        let mut rows = vec![row("create", None, None)];
        restore_creations(&mut rows, None);
        assert_eq!(rows[0].after, None);

        let mut rows = vec![
            row("create", None, None),
            row("purge", None, None),
            row("create", None, None),
        ];
        let current = object(json!({"first": "Ana"}));
        restore_creations(&mut rows, Some(&current));
        assert_eq!(
            rows[0].after, None,
            "the first incarnation's values are gone"
        );
        assert_eq!(rows[2].after, Some(json!({"first": "Ana"})));
    }

    #[test]
    fn only_record_creations_are_stored_without_values() {
        assert!(stored_without_values(&row("create", None, Some(json!({})))));
        assert!(!stored_without_values(&row("update", None, None)));
        let mut person = row("create", None, None);
        person.source_key = None;
        assert!(!stored_without_values(&person));
    }
}
