//! `identity { ... }` and `match ...`: how records become and find people.

use kdl::KdlNode;

use super::cx::{Cx, entry_span, name_span, node_name};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{
    Duration, ExternalMatcher, IdentityBinding, IdentityKind, Match, MatchStrategy, OnAmbiguous,
    Spanned,
};

/// Lowers an `identity` block into its bindings.
pub(crate) fn lower_identity(cx: &mut Cx, node: &KdlNode) -> Vec<IdentityBinding> {
    cx.props(node, &[], "`identity`");
    cx.args(node, 0, Some(0), "`identity { ... }`");
    let bindings = cx.children(node, &["email", "identifier"]);
    bindings
        .into_iter()
        .filter_map(|binding| {
            let kind = if node_name(binding) == "email" {
                IdentityKind::Email
            } else {
                IdentityKind::Identifier
            };
            let (usage, props): (&str, &[&str]) = match kind {
                IdentityKind::Email => ("`email TYPE FIELD [verified=#true]`", &["verified"]),
                IdentityKind::Identifier => ("`identifier TYPE FIELD`", &[]),
            };
            cx.no_children(binding);
            let props = cx.props(binding, props, &format!("`{}`", node_name(binding)));
            let args = cx.args(binding, 2, Some(2), usage);
            let type_name = args.first().and_then(|a| cx.name(a, "an identity type"));
            let field = args.get(1).and_then(|a| cx.name(a, "a field name"));
            let verified = props
                .get("verified")
                .and_then(|e| cx.bool(e, "`verified`"))
                .unwrap_or(false);
            Some(IdentityBinding {
                kind,
                type_name: type_name?,
                field: field?,
                verified,
                span: name_span(binding),
            })
        })
        .collect()
}

/// Lowers a `match` node.
pub(crate) fn lower_match(cx: &mut Cx, node: &KdlNode) -> Option<Match> {
    cx.no_children(node);
    let usage = "`match none`, `match email TYPE`, `match identifier TYPE` or `match external command=\"...\"`";
    let args = cx.args(node, 1, Some(2), usage);
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        None,
        Email,
        Identifier,
        External,
    }
    let kind = cx.choice(
        args.first()?,
        "match strategy",
        &[
            ("none", Kind::None),
            ("email", Kind::Email),
            ("identifier", Kind::Identifier),
            ("external", Kind::External),
        ],
    )?;
    let allowed: &[&str] = match kind {
        Kind::None => &[],
        Kind::Email | Kind::Identifier => &["on-ambiguous"],
        Kind::External => &["command", "url", "timeout"],
    };
    let props = cx.props(
        node,
        allowed,
        &format!("`match {}`", args[0].value().as_string().unwrap_or("")),
    );
    let on_ambiguous = props
        .get("on-ambiguous")
        .and_then(|e| {
            cx.choice(
                e,
                "`on-ambiguous`",
                &[
                    ("hold", OnAmbiguous::Hold),
                    ("oldest", OnAmbiguous::Oldest),
                    ("newest", OnAmbiguous::Newest),
                ],
            )
        })
        .unwrap_or(OnAmbiguous::Hold);
    let type_arg = args.get(1);
    if matches!(kind, Kind::None | Kind::External)
        && let Some(extra) = type_arg
    {
        cx.report(
            Diagnostic::error(
                Code::UnexpectedArgument,
                "this match strategy takes no type",
            )
            .with_label(entry_span(extra), "unexpected argument")
            .with_help("only `match email TYPE` and `match identifier TYPE` name a type"),
        );
    }
    let mut type_name = || match type_arg {
        Some(arg) => cx.name(arg, "an identity type"),
        None => {
            cx.report(
                Diagnostic::error(
                    Code::MissingArgument,
                    "this match strategy needs an identity type",
                )
                .with_label(name_span(node), "no type given")
                .with_help("name a type bound in `identity`, e.g. `match email official`"),
            );
            None
        }
    };
    let strategy = match kind {
        Kind::None => MatchStrategy::None,
        Kind::Email => MatchStrategy::Email {
            type_name: type_name()?,
        },
        Kind::Identifier => MatchStrategy::Identifier {
            type_name: type_name()?,
        },
        Kind::External => {
            let target = match (props.get("command"), props.get("url")) {
                (Some(command), Some(url)) => {
                    cx.report(
                        Diagnostic::error(
                            Code::Conflict,
                            "`command=` and `url=` exclude each other",
                        )
                        .with_label(entry_span(url), "a URL")
                        .with_label(entry_span(command), "and a command")
                        .with_help("an external matcher is either a command or a URL; keep one"),
                    );
                    None
                }
                (Some(command), None) => cx
                    .string(command, "`command`")
                    .map(|c| ExternalMatcher::Command(c.value)),
                (None, Some(url)) => cx.setting(url, "`url`").map(ExternalMatcher::Url),
                (None, None) => {
                    cx.missing_property(node, "command", "`match external command=\"./match.sh\"` or `match external url=(env)\"MATCH_URL\"`");
                    None
                }
            };
            let timeout = match props.get("timeout") {
                Some(entry) => cx.duration(entry, "`timeout`")?,
                None => Spanned::new(Duration { seconds: 10 }, name_span(node)),
            };
            MatchStrategy::External {
                target: target?,
                timeout,
            }
        }
    };
    Some(Match {
        strategy,
        on_ambiguous,
        span: name_span(node),
    })
}
