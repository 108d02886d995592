//! `target scim|ldap NAME { ... }`: directories the registry's persons are
//! provisioned into.

use kdl::{KdlEntry, KdlNode};

use super::cx::{Cx, entry_span, name_span};
use super::source::one_arg;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{GroupsFromRoles, LdapTarget, ScimTarget, Setting, Spanned, Target, TargetKind};

const SCIM_CHILDREN: &[&str] = &[
    "url",
    "token",
    "rate",
    "page-size",
    "user",
    "groups-from-roles",
    "delete-after-purge",
    "adopt-by",
];

const LDAP_CHILDREN: &[&str] = &[
    "url",
    "starttls",
    "bind-dn",
    "password",
    "base",
    "person-dn",
    "limbo-dn",
    "object-class",
    "attribute",
    "deactivate",
    "rate",
    "groups-from-roles",
    "delete-after-purge",
    "adopt-by",
];

/// Target attribute to the mapped field it takes.
type AttributeMap = Vec<(String, Spanned<String>)>;

/// What both kinds of target share, read before the kind's own settings.
struct Common {
    groups: Option<GroupsFromRoles>,
    delete_after_purge: bool,
    adopt_by: Option<Spanned<String>>,
    rate: Option<Spanned<f64>>,
}

/// Lowers a `target` node; `None` when a required part is missing.
pub(crate) fn lower_target(cx: &mut Cx, node: &KdlNode) -> Option<Target> {
    cx.props(node, &[], "`target`");
    let usage = "`target scim NAME { ... }` or `target ldap NAME { ... }`";
    let args = cx.args(node, 2, Some(2), usage);
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Scim,
        Ldap,
    }
    let kind = cx.choice(
        args.first()?,
        "target kind",
        &[("scim", Kind::Scim), ("ldap", Kind::Ldap)],
    )?;
    let name = args.get(1).and_then(|a| cx.name(a, "a target name"));
    let allowed = if kind == Kind::Scim {
        SCIM_CHILDREN
    } else {
        LDAP_CHILDREN
    };
    let children = cx.children(node, allowed);
    let common = lower_common(cx, &children);
    let (kind, attributes) = match kind {
        Kind::Scim => {
            let (scim, attributes) = lower_scim(cx, node, &children)?;
            (TargetKind::Scim(scim), attributes)
        }
        Kind::Ldap => {
            let attributes = attributes(cx, &children);
            (
                TargetKind::Ldap(lower_ldap(cx, node, &children)?),
                attributes,
            )
        }
    };
    Some(Target {
        name: name?,
        kind,
        attributes,
        groups: common.groups,
        delete_after_purge: common.delete_after_purge,
        adopt_by: common.adopt_by,
        rate: common.rate,
        span: name_span(node),
    })
}

/// `groups-from-roles`, `delete-after-purge`, `adopt-by` and `rate`.
fn lower_common(cx: &mut Cx, children: &[&KdlNode]) -> Common {
    let groups = cx
        .single(children, "groups-from-roles")
        .and_then(|n| lower_groups(cx, n));
    let delete_after_purge = cx
        .single(children, "delete-after-purge")
        .and_then(|n| one_arg(cx, n, "`delete-after-purge #true`"))
        .and_then(|a| cx.bool(a, "`delete-after-purge`"))
        .unwrap_or(false);
    let adopt_by = cx
        .single(children, "adopt-by")
        .and_then(|n| one_arg(cx, n, "`adopt-by user-name`"))
        .and_then(|a| cx.name(a, "`adopt-by`"));
    let rate = cx
        .single(children, "rate")
        .and_then(|n| one_arg(cx, n, "`rate \"10/s\"`"))
        .and_then(|a| rate(cx, a));
    Common {
        groups,
        delete_after_purge,
        adopt_by,
        rate,
    }
}

/// `rate "N/s"` or `"N/m"`: requests per second.
fn rate(cx: &mut Cx, entry: &KdlEntry) -> Option<Spanned<f64>> {
    let text = cx.string(entry, "`rate`")?;
    let parsed = text.value.split_once('/').and_then(|(n, unit)| {
        let n: f64 = n
            .trim()
            .parse()
            .ok()
            .filter(|n: &f64| *n > 0.0 && n.is_finite())?;
        match unit.trim() {
            "s" => Some(n),
            "m" => Some(n / 60.0),
            _ => None,
        }
    });
    if parsed.is_none() {
        cx.report(
            Diagnostic::error(
                Code::InvalidValue,
                format!("`rate` `{}` is not a rate", text.value),
            )
            .with_label(text.span, "not a rate")
            .with_help(
                "write requests per second or per minute, e.g. `rate \"10/s\"` or `rate \"300/m\"`",
            ),
        );
    }
    parsed.map(|r| Spanned::new(r, text.span))
}

/// `groups-from-roles name="{ou}-{title}"` (SCIM) or `dn="cn={title},..." member-attribute=member` (LDAP).
fn lower_groups(cx: &mut Cx, node: &KdlNode) -> Option<GroupsFromRoles> {
    cx.no_children(node);
    cx.args(node, 0, Some(0), "`groups-from-roles name=\"{title}\"`");
    let props = cx.props(
        node,
        &["name", "dn", "member-attribute"],
        "`groups-from-roles`",
    );
    let name = props
        .get("name")
        .or(props.get("dn"))
        .and_then(|e| cx.string(e, "the group's name"));
    if name.is_none() && props.get("name").is_none() && props.get("dn").is_none() {
        cx.missing_property(
            node,
            "name",
            "`groups-from-roles name=\"{ou}-{title}\"` (SCIM) or `dn=\"cn={title},ou=groups,...\"` (LDAP)",
        );
    }
    let member_attribute = props
        .get("member-attribute")
        .and_then(|e| cx.name(e, "`member-attribute`"))
        .map(|s| s.value);
    Some(GroupsFromRoles {
        name: name?,
        member_attribute,
    })
}

/// A required setting child (`url`, ...), reported when missing.
fn required_setting(
    cx: &mut Cx,
    node: &KdlNode,
    children: &[&KdlNode],
    name: &str,
    usage: &str,
) -> Option<Setting> {
    match cx.single(children, name) {
        Some(n) => one_arg(cx, n, usage).and_then(|a| cx.setting(a, &format!("`{name}`"))),
        None => {
            cx.missing_node(node, name, usage);
            None
        }
    }
}

/// An optional secret child (`token`, `password`): only from the environment.
fn secret(cx: &mut Cx, children: &[&KdlNode], name: &str) -> Option<Setting> {
    let node = cx.single(children, name)?;
    let entry = one_arg(cx, node, &format!("`{name} (env)\"NAME\"`"))?;
    let setting = cx.setting(entry, &format!("`{name}`"))?;
    if let Setting::Literal(_) = setting {
        cx.report(
            Diagnostic::error(
                Code::InvalidValue,
                format!("`{name}` is a secret and must come from the environment"),
            )
            .with_label(entry_span(entry), "written in the file")
            .with_help(format!(
                "write `{name} (env)\"VARIABLE\"` and set the variable where rollcall runs"
            )),
        );
        return None;
    }
    Some(setting)
}

/// `attribute NAME field=FIELD` children, in order.
fn attributes(cx: &mut Cx, children: &[&KdlNode]) -> AttributeMap {
    Cx::all(children, "attribute")
        .into_iter()
        .filter_map(|n| {
            cx.no_children(n);
            let usage = "`attribute NAME field=FIELD`";
            let name = cx
                .args(n, 1, Some(1), usage)
                .first()
                .and_then(|a| cx.string(a, "the attribute's name"));
            let props = cx.props(n, &["field"], "`attribute`");
            let field = props.get("field").and_then(|e| cx.name(e, "a field name"));
            if props.get("field").is_none() {
                cx.missing_property(n, "field", usage);
            }
            Some((name?.value, field?))
        })
        .collect()
}

/// A SCIM target's own settings and its `user { ... }` block.
fn lower_scim(
    cx: &mut Cx,
    node: &KdlNode,
    children: &[&KdlNode],
) -> Option<(ScimTarget, AttributeMap)> {
    let url = required_setting(
        cx,
        node,
        children,
        "url",
        "`url \"https://...\"` or `url (env)\"SCIM_URL\"`",
    );
    let token = secret(cx, children, "token");
    let page_size = cx
        .single(children, "page-size")
        .and_then(|n| one_arg(cx, n, "`page-size 100`"))
        .and_then(|a| cx.count(a, "`page-size`"))
        .map_or(100, |n| n.value.max(1));
    let Some(user) = cx.single(children, "user") else {
        cx.missing_node(
            node,
            "user",
            "`user { user-name field=FIELD; attribute name.givenName field=FIELD }`",
        );
        return None;
    };
    let user_children = cx.children(user, &["user-name", "attribute"]);
    let user_name = match cx.single(&user_children, "user-name") {
        Some(n) => {
            cx.args(n, 0, Some(0), "`user-name field=FIELD`");
            let props = cx.props(n, &["field"], "`user-name`");
            if props.get("field").is_none() {
                cx.missing_property(n, "field", "`user-name field=FIELD`");
            }
            props.get("field").and_then(|e| cx.name(e, "a field name"))
        }
        None => {
            cx.missing_node(user, "user-name", "`user-name field=FIELD`");
            None
        }
    };
    let attributes = attributes(cx, &user_children);
    Some((
        ScimTarget {
            url: url?,
            token,
            user_name: user_name?,
            page_size,
        },
        attributes,
    ))
}

/// An LDAP target's own settings.
fn lower_ldap(cx: &mut Cx, node: &KdlNode, children: &[&KdlNode]) -> Option<LdapTarget> {
    let url = required_setting(
        cx,
        node,
        children,
        "url",
        "`url \"ldaps://...\"` or `url (env)\"LDAP_URL\"`",
    );
    let starttls = cx
        .single(children, "starttls")
        .and_then(|n| one_arg(cx, n, "`starttls #true`"))
        .and_then(|a| cx.bool(a, "`starttls`"))
        .unwrap_or(false);
    let bind_dn = cx
        .single(children, "bind-dn")
        .and_then(|n| one_arg(cx, n, "`bind-dn \"cn=...\"`"))
        .and_then(|a| cx.setting(a, "`bind-dn`"));
    let password = secret(cx, children, "password");
    let text = |cx: &mut Cx, name: &str, usage: &str| -> Option<Spanned<String>> {
        let n = cx.single(children, name)?;
        one_arg(cx, n, usage).and_then(|a| cx.string(a, &format!("`{name}`")))
    };
    let base = text(cx, "base", "`base \"dc=example,dc=org\"`");
    if base.is_none() && cx.single(children, "base").is_none() {
        cx.missing_node(node, "base", "`base \"dc=example,dc=org\"`");
    }
    let person_dn = text(
        cx,
        "person-dn",
        "`person-dn \"uid={uid},ou={scope},dc=...\"`",
    );
    if person_dn.is_none() && cx.single(children, "person-dn").is_none() {
        cx.missing_node(
            node,
            "person-dn",
            "`person-dn \"uid={uid},ou={scope},dc=...\"`",
        );
    }
    let limbo_dn = text(cx, "limbo-dn", "`limbo-dn \"ou=limbo,dc=...\"`").map(|s| s.value);
    let object_classes = cx
        .single(children, "object-class")
        .map(|n| {
            cx.args(n, 1, None, "`object-class inetOrgPerson ...`")
                .iter()
                .filter_map(|a| cx.string(a, "an object class").map(|s| s.value))
                .collect()
        })
        .unwrap_or_else(|| vec!["inetOrgPerson".to_owned()]);
    let deactivate = cx
        .single(children, "deactivate")
        .map(|n| deactivation(cx, n))
        .unwrap_or_default();
    Some(LdapTarget {
        url: url?,
        starttls,
        bind_dn,
        password,
        base: base?.value,
        person_dn: person_dn?,
        limbo_dn,
        object_classes,
        deactivate,
    })
}

/// `deactivate { set NAME VALUE; ... }`.
fn deactivation(cx: &mut Cx, node: &KdlNode) -> Vec<(String, String)> {
    let children = cx.children(node, &["set"]);
    children
        .into_iter()
        .filter_map(|n| {
            let args = cx.args(n, 2, Some(2), "`set ATTRIBUTE VALUE`");
            let name = args.first().and_then(|a| cx.string(a, "an attribute"))?;
            let value = args.get(1).and_then(|a| cx.text(a, "the value"))?;
            Some((name.value, value))
        })
        .collect()
}
