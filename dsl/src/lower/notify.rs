//! `notify email|webhook ... on=WHEN`: messages about a run's outcome.

use kdl::KdlNode;

use super::cx::{Cx, name_span};
use crate::model::{Channel, Notify, NotifyOn};

/// Lowers a `notify` node.
pub(crate) fn lower_notify(cx: &mut Cx, node: &KdlNode) -> Option<Notify> {
    cx.no_children(node);
    let usage = "`notify email \"TO\"... on=failure` or `notify webhook (env)\"URL\" on=problem`";
    let args = cx.args(node, 2, None, usage);
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Email,
        Webhook,
    }
    let kind = cx.choice(
        args.first()?,
        "notify channel",
        &[("email", Kind::Email), ("webhook", Kind::Webhook)],
    )?;
    let allowed: &[&str] = match kind {
        Kind::Email => &["on", "from", "subject"],
        Kind::Webhook => &["on"],
    };
    let what = if kind == Kind::Email {
        "`notify email`"
    } else {
        "`notify webhook`"
    };
    let props = cx.props(node, allowed, what);
    let on = props
        .get("on")
        .and_then(|e| {
            cx.choice(
                e,
                "`on`",
                &[
                    ("failure", NotifyOn::Failure),
                    ("breach", NotifyOn::Breach),
                    ("problem", NotifyOn::Problem),
                    ("always", NotifyOn::Always),
                ],
            )
        })
        .unwrap_or(NotifyOn::Problem);
    let channel = match kind {
        Kind::Email => {
            let to: Vec<_> = args[1..]
                .iter()
                .filter_map(|arg| cx.setting(arg, "a recipient"))
                .collect();
            let from = props.get("from").and_then(|e| cx.setting(e, "`from`"));
            let subject = props
                .get("subject")
                .and_then(|e| cx.string(e, "`subject`"))
                .map(|s| s.value);
            Channel::Email { to, from, subject }
        }
        Kind::Webhook => {
            // Only extra arguments are left to report; a missing one already was.
            cx.args(node, 0, Some(2), "`notify webhook (env)\"URL\" on=problem`");
            let url = args
                .get(1)
                .and_then(|arg| cx.setting(arg, "the webhook URL"))?;
            Channel::Webhook { url }
        }
    };
    Some(Notify {
        channel,
        on,
        span: name_span(node),
    })
}
