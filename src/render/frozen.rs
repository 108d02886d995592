//! `rollcall frozen`'s list of frozen attributes.

use std::fmt::Write as _;

use rollcall_engine::store::FrozenRow;

use super::suffix;

/// Each frozen attribute: whose, its value, who froze it when, until when,
/// whether it has lapsed at `now`, and why.
pub fn frozen_text(rows: &[FrozenRow], now: &str) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("nothing is frozen\n");
    }
    for row in rows {
        let _ = writeln!(
            out,
            "person {:>6}  {:<20} = {}  by {} at {}{}{}{}",
            row.person_id,
            row.attribute,
            row.value,
            row.frozen_by,
            row.frozen_at,
            suffix(", until ", row.until.as_deref()),
            if row.holds_at(now) { "" } else { " (lapsed)" },
            suffix("\n                reason: ", row.reason.as_deref())
        );
    }
    out
}

/// The JSON of `frozen --format json`: the rows, each saying whether it
/// holds at `now`.
pub fn frozen_json(rows: &[FrozenRow], now: &str) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            let mut value = serde_json::to_value(row).expect("rows serialize");
            value["holds"] = serde_json::Value::Bool(row.holds_at(now));
            value
        })
        .collect();
    serde_json::json!({ "frozen": rows })
}
