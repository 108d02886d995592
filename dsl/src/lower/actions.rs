//! `lifecycle { actions FIELD { ... } }`: a change file's action column.
//! Which values of a mapped field say a row adds, modifies or deletes its
//! key, and what a row that does not fit its key's state does.

use kdl::KdlNode;

use super::cx::{Cx, entry_span, name_span};
use super::source::word;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{ActionPolicy, Actions, Spanned};

const CHILDREN: &[&str] = &["add", "modify", "delete", "add-existing", "unknown-key"];

const POLICIES: &[(&str, ActionPolicy)] = &[
    ("error", ActionPolicy::Error),
    ("accept", ActionPolicy::Accept),
];

/// Lowers `actions FIELD { add VALUE...; modify VALUE...; delete VALUE...;
/// add-existing error|accept; unknown-key error|accept }`.
pub(crate) fn lower_actions(cx: &mut Cx, node: &KdlNode) -> Option<Actions> {
    cx.props(node, &[], "`actions`");
    let field = cx
        .args(
            node,
            1,
            Some(1),
            "`actions FIELD { add \"A\"; modify \"M\"; delete \"D\" }`",
        )
        .first()
        .and_then(|arg| cx.name(arg, "the action field"));
    let children = cx.children(node, CHILDREN);
    let mut values = |name: &str| -> Vec<Spanned<String>> {
        let Some(child) = cx.single(&children, name) else {
            return Vec::new();
        };
        cx.props(child, &[], &format!("`{name}`"));
        cx.no_children(child);
        let args = cx.args(child, 1, None, &format!("`{name} VALUE...`"));
        args.into_iter()
            .filter_map(|arg| {
                let text = cx.text(arg, &format!("an `{name}` value"))?;
                Some(Spanned::new(text, entry_span(arg)))
            })
            .collect()
    };
    let (add, modify, delete) = (values("add"), values("modify"), values("delete"));
    let mut policy = |name: &str| {
        cx.single(&children, name)
            .and_then(|child| word(cx, child, &format!("`{name}` policy"), POLICIES))
            .unwrap_or(ActionPolicy::Error)
    };
    let (add_existing, unknown_key) = (policy("add-existing"), policy("unknown-key"));
    if add.is_empty() && modify.is_empty() && delete.is_empty() {
        cx.report(
            Diagnostic::error(
                Code::MissingNode,
                "`actions` declares no action value".to_owned(),
            )
            .with_label(name_span(node), "no `add`, `modify` or `delete` here")
            .with_help(
                "say which values of the field mean each action: \
                 `actions action { add \"A\"; modify \"M\"; delete \"D\" }`",
            ),
        );
        return None;
    }
    Some(Actions {
        field: field?,
        add,
        modify,
        delete,
        add_existing,
        unknown_key,
        span: name_span(node),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::model::{Absent, ActionPolicy};

    fn load(lifecycle: &str) -> crate::Loaded {
        let text = format!(
            "pipeline legacy {{\n    source file \"x.csv\" {{ format csv; }}\n    key uid\n    map {{\n        uid uid required=#true\n        action action required=#true\n    }}\n    lifecycle {{\n{lifecycle}\n    }}\n}}\n"
        );
        crate::load_str("legacy.kdl", &text, Path::new("."))
    }

    /// The codes found, sorted (their order is the file's, not the test's).
    fn codes(loaded: &crate::Loaded) -> Vec<&'static str> {
        let mut codes: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code.as_str()).collect();
        codes.sort_unstable();
        codes
    }

    #[test]
    fn an_action_column_lowers_its_values_and_policies_and_implies_absent_keep() {
        let loaded = load("actions action { add A C; modify M; delete D 9; add-existing accept; }");
        assert!(loaded.is_valid(), "{:#?}", loaded.diagnostics);
        let lifecycle = &loaded.pipelines[0].lifecycle;
        let actions = lifecycle.actions.as_ref().expect("lowered");
        assert_eq!(actions.field.value, "action");
        let text = |values: &[crate::model::Spanned<String>]| -> Vec<String> {
            values.iter().map(|v| v.value.clone()).collect()
        };
        assert_eq!(text(&actions.add), ["A", "C"]);
        assert_eq!(text(&actions.modify), ["M"]);
        assert_eq!(text(&actions.delete), ["D", "9"]);
        assert_eq!(actions.add_existing, ActionPolicy::Accept);
        assert_eq!(actions.unknown_key, ActionPolicy::Error);
        assert_eq!(lifecycle.absent, Absent::Keep);
    }

    #[test]
    fn an_action_column_without_values_or_with_a_misspelt_policy_is_refused() {
        let loaded = load("actions action { unknown-key acept; }");
        assert_eq!(
            codes(&loaded),
            ["rollcall::invalid-value", "rollcall::missing-node"]
        );
        let loaded = load("actions action { add A; archive X; }");
        assert_eq!(codes(&loaded), ["rollcall::unknown-node"]);
    }

    #[test]
    fn an_action_column_contradicted_by_absent_remove_or_record_tests_is_a_check_error() {
        let loaded = load(
            "absent remove\nknown-when action equals M\nactions action { add A; modify M; delete D; }",
        );
        assert_eq!(
            codes(&loaded),
            [
                "rollcall::actions-contradiction",
                "rollcall::actions-contradiction"
            ]
        );
        let absent = &loaded.diagnostics[0];
        assert!(absent.message.contains("`absent remove`"), "{absent:?}");
        assert_eq!(absent.labels.len(), 2, "points at both places");
        assert!(absent.help.as_deref().unwrap().contains("absent keep"));
        // `absent keep` says what `actions` implies: no contradiction.
        assert!(load("absent keep\nactions action { add A; }").is_valid());
    }

    #[test]
    fn one_value_for_two_actions_is_refused_pointing_at_both() {
        let loaded = load("actions action { add A; modify M A; }");
        assert_eq!(codes(&loaded), ["rollcall::duplicate-action-value"]);
        assert_eq!(
            loaded.diagnostics[0].message,
            "the value \"A\" is declared for `add` and `modify`"
        );
    }

    #[test]
    fn an_action_value_the_fields_table_never_gives_is_refused_with_the_tables_values() {
        let text = "pipeline cora {\n    source file \"x.json\" { format json; }\n    key id\n    map {\n        id id required=#true\n        action status { values otherwise=error { \"0\" create; \"1\" update; \"2\" archive; } }\n    }\n    lifecycle { actions action { add create; modify \"1\"; delete archive; } }\n}\n";
        let loaded = crate::load_str("cora.kdl", text, Path::new("."));
        assert_eq!(codes(&loaded), ["rollcall::unreachable-action-value"]);
        let help = loaded.diagnostics[0].help.as_deref().unwrap();
        assert!(help.contains("`create`, `update`, `archive`"), "{help}");
        // A table that keeps unlisted values may give anything.
        let keeps = text.replace("otherwise=error ", "");
        assert!(crate::load_str("cora.kdl", &keeps, Path::new(".")).is_valid());
    }

    #[test]
    fn the_action_field_must_be_mapped() {
        let loaded = load("actions acton { add A; }");
        assert_eq!(codes(&loaded), ["rollcall::unknown-field"]);
    }
}
