//! `sink KIND PATH { ... }` and its `upload`s.

use kdl::KdlNode;

use super::cx::{Cx, name_span, node_name};
use super::source::{csv_char, one_arg, word};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{
    ActionDialect, ActionSink, CsvSink, QuoteStyle, Setting, Sink, SinkKind, Spanned, Upload,
};

/// Which kind of sink is being read.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Csv,
    Json,
    Jsonl,
    Actions,
}

/// Lowers a `sink` node.
pub(crate) fn lower_sink(cx: &mut Cx, node: &KdlNode) -> Option<Sink> {
    let args = cx.args(
        node,
        2,
        Some(2),
        "`sink csv|json|jsonl|actions \"PATH\" { ... }`",
    );
    let kind = args.first().and_then(|arg| {
        cx.choice(
            arg,
            "sink kind",
            &[
                ("csv", Kind::Csv),
                ("json", Kind::Json),
                ("jsonl", Kind::Jsonl),
                ("actions", Kind::Actions),
            ],
        )
    });
    let path = args.get(1).and_then(|arg| cx.string(arg, "the sink path"));
    let kind = kind?;
    let props = cx.props(
        node,
        if kind == Kind::Actions {
            &["dialect"]
        } else {
            &[]
        },
        &format!("`sink {}`", args[0].value().as_string().unwrap_or("")),
    );
    let allowed: &[&str] = match kind {
        Kind::Csv => &[
            "column",
            "header",
            "quote",
            "formula-guard",
            "delimiter",
            "upload",
        ],
        Kind::Json => &["fields", "upload"],
        Kind::Jsonl => &["upload"],
        Kind::Actions => &[
            "field",
            "default",
            "reassign-to",
            "groups",
            "protected-group",
            "upload",
        ],
    };
    let children = cx.children(node, allowed);
    let uploads = Cx::all(&children, "upload")
        .into_iter()
        .filter_map(|upload| lower_upload(cx, upload))
        .collect();
    let kind = match kind {
        Kind::Csv => SinkKind::Csv(csv_sink(cx, node, &children)),
        Kind::Json => SinkKind::Json {
            fields: cx
                .single(&children, "fields")
                .map(|n| field_names(cx, n, "`fields FIELD...`"))
                .unwrap_or_default(),
        },
        Kind::Jsonl => SinkKind::Jsonl,
        Kind::Actions => {
            let dialect = match props.get("dialect") {
                Some(entry) => cx.choice(entry, "action dialect", &[("cora", ActionDialect::Cora)]),
                None => {
                    cx.missing_property(
                        node,
                        "dialect",
                        "`sink actions \"PATH\" dialect=cora { ... }`",
                    );
                    None
                }
            };
            SinkKind::Actions(action_sink(
                cx,
                &children,
                dialect.unwrap_or(ActionDialect::Cora),
            ))
        }
    };
    Some(Sink {
        kind,
        path: path?,
        uploads,
        span: name_span(node),
    })
}

/// The children of `sink csv`.
fn csv_sink(cx: &mut Cx, node: &KdlNode, children: &[&KdlNode]) -> CsvSink {
    let columns: Vec<(String, Spanned<String>)> = Cx::all(children, "column")
        .into_iter()
        .filter_map(|column| {
            cx.no_children(column);
            cx.props(column, &[], "`column`");
            let args = cx.args(column, 2, Some(2), "`column HEADER FIELD`");
            let header = cx.text(args.first()?, "the column header");
            let field = cx.name(args.get(1)?, "a field name");
            Some((header?, field?))
        })
        .collect();
    if Cx::all(children, "column").is_empty() {
        cx.missing_node(node, "column", "one `column HEADER FIELD` per column");
    }
    let mut flag = |name: &str, default: bool| {
        cx.single(children, name)
            .and_then(|n| one_arg(cx, n, &format!("`{name} #true`")))
            .and_then(|arg| cx.bool(arg, &format!("`{name}`")))
            .unwrap_or(default)
    };
    let header = flag("header", true);
    let formula_guard = flag("formula-guard", true);
    let quote = cx
        .single(children, "quote")
        .and_then(|n| {
            word(
                cx,
                n,
                "`quote` style",
                &[
                    ("all", QuoteStyle::All),
                    ("necessary", QuoteStyle::Necessary),
                ],
            )
        })
        .unwrap_or(QuoteStyle::Necessary);
    let delimiter = cx
        .single(children, "delimiter")
        .and_then(|n| one_arg(cx, n, "`delimiter \";\"`"))
        .and_then(|arg| csv_char(cx, arg, "`delimiter`"))
        .unwrap_or(b',');
    CsvSink {
        columns,
        header,
        quote,
        formula_guard,
        delimiter,
    }
}

/// The children of `sink actions`.
fn action_sink(cx: &mut Cx, children: &[&KdlNode], dialect: ActionDialect) -> ActionSink {
    let fields = Cx::all(children, "field")
        .into_iter()
        .filter_map(|field| {
            cx.no_children(field);
            cx.props(field, &[], "`field`");
            let args = cx.args(field, 2, Some(2), "`field NAME FIELD`");
            let name = cx.string(args.first()?, "the output field name");
            let source = cx.name(args.get(1)?, "a field name");
            Some((name?.value, source?))
        })
        .collect();
    let defaults = Cx::all(children, "default")
        .into_iter()
        .filter_map(|default| {
            cx.no_children(default);
            cx.props(default, &[], "`default`");
            let args = cx.args(default, 2, Some(2), "`default NAME VALUE`");
            let name = cx.string(args.first()?, "the output field name");
            let value = cx.json(args.get(1)?, "the default value");
            Some((name?.value, value?))
        })
        .collect();
    let reassign_to = cx
        .single(children, "reassign-to")
        .and_then(|n| one_arg(cx, n, "`reassign-to (env)\"NAME\"`"))
        .and_then(|arg| cx.setting(arg, "`reassign-to`"));
    let groups = cx
        .single(children, "groups")
        .and_then(|n| one_arg(cx, n, "`groups FIELD`"))
        .and_then(|arg| cx.name(arg, "a field name"));
    let protected_groups = Cx::all(children, "protected-group")
        .into_iter()
        .filter_map(|n| {
            let arg = one_arg(cx, n, "`protected-group \"NAME\"`")?;
            cx.string(arg, "the group name").map(|g| g.value)
        })
        .collect();
    ActionSink {
        dialect,
        fields,
        defaults,
        reassign_to,
        groups,
        protected_groups,
    }
}

/// `fields FIELD...`.
fn field_names(cx: &mut Cx, node: &KdlNode, usage: &str) -> Vec<Spanned<String>> {
    cx.no_children(node);
    cx.props(node, &[], &format!("`{}`", node_name(node)));
    let args = cx.args(node, 1, None, usage);
    args.iter()
        .filter_map(|arg| cx.name(arg, "a field name"))
        .collect()
}

/// `upload s3 ...` or `upload sftp ...`.
fn lower_upload(cx: &mut Cx, node: &KdlNode) -> Option<Upload> {
    cx.no_children(node);
    let usage =
        "`upload s3 bucket=... key=...` or `upload sftp host=... user=... path=... host-key=...`";
    let args = cx.args(node, 1, Some(1), usage);
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        S3,
        Sftp,
    }
    let kind = cx.choice(
        args.first()?,
        "upload kind",
        &[("s3", Kind::S3), ("sftp", Kind::Sftp)],
    )?;
    match kind {
        Kind::S3 => lower_s3_upload(cx, node),
        Kind::Sftp => lower_sftp_upload(cx, node),
    }
}

/// `upload s3 bucket=... key=... [endpoint=...] [region=...] [path-style=...]`.
fn lower_s3_upload(cx: &mut Cx, node: &KdlNode) -> Option<Upload> {
    let usage = "`upload s3 bucket=(env)\"BUCKET\" key=\"path/file.json\"`";
    let props = cx.props(
        node,
        &["bucket", "key", "endpoint", "region", "path-style"],
        "`upload s3`",
    );
    let mut required_setting = |prop: &str| match props.get(prop) {
        Some(entry) => cx.setting(entry, &format!("`{prop}`")),
        None => {
            cx.missing_property(node, prop, usage);
            None
        }
    };
    let bucket = required_setting("bucket");
    let key = match props.get("key") {
        Some(entry) => cx.string(entry, "`key`").map(|k| k.value),
        None => {
            cx.missing_property(node, "key", usage);
            None
        }
    };
    let endpoint = props
        .get("endpoint")
        .and_then(|e| cx.setting(e, "`endpoint`"));
    let region = props.get("region").and_then(|e| cx.setting(e, "`region`"));
    let path_style = props
        .get("path-style")
        .and_then(|e| cx.bool(e, "`path-style`"))
        .unwrap_or(false);
    Some(Upload::S3 {
        bucket: bucket?,
        key: key?,
        endpoint,
        region,
        path_style,
    })
}

/// `upload sftp host=... user=... path=... host-key=...`, with a password
/// or a key file to log in.
fn lower_sftp_upload(cx: &mut Cx, node: &KdlNode) -> Option<Upload> {
    let usage = "`upload sftp host=(env)\"SFTP_HOST\" user=(env)\"SFTP_USER\" password=(env)\"SFTP_PASSWORD\" path=\"feed.csv\" host-key=(env)\"SFTP_HOST_KEY\"`";
    let props = cx.props(
        node,
        &[
            "host", "port", "user", "password", "key-file", "path", "host-key",
        ],
        "`upload sftp`",
    );
    let mut required_setting = |prop: &str| -> Option<Setting> {
        match props.get(prop) {
            Some(entry) => cx.setting(entry, &format!("`{prop}`")),
            None => {
                cx.missing_property(node, prop, usage);
                None
            }
        }
    };
    let host = required_setting("host");
    let user = required_setting("user");
    let host_key = required_setting("host-key");
    let path = match props.get("path") {
        Some(entry) => cx.string(entry, "`path`").map(|p| p.value),
        None => {
            cx.missing_property(node, "path", usage);
            None
        }
    };
    let password = props
        .get("password")
        .and_then(|e| cx.setting(e, "`password`"));
    let key_file = props
        .get("key-file")
        .and_then(|e| cx.setting(e, "`key-file`"));
    let port = match props.get("port") {
        Some(entry) => match cx.count(entry, "`port`") {
            Some(port) if (1..=65_535).contains(&port.value) => port.value as u16,
            Some(_) => {
                cx.out_of_range(entry, "`port`", "1 to 65535");
                22
            }
            None => 22,
        },
        None => 22,
    };
    if password.is_none()
        && key_file.is_none()
        && props.get("password").is_none()
        && props.get("key-file").is_none()
    {
        cx.report(
            Diagnostic::error(Code::MissingProperty, "`upload sftp` needs a way to log in")
                .with_label(name_span(node), "no `password=` or `key-file=`")
                .with_help(
                    "add `password=(env)\"SFTP_PASSWORD\"` or `key-file=(env)\"SFTP_KEY_FILE\"`",
                ),
        );
    }
    Some(Upload::Sftp {
        host: host?,
        port,
        user: user?,
        password,
        key_file,
        path: path?,
        host_key: host_key?,
    })
}
