//! `source file|s3 ... { ... }`: where records come from and how their bytes
//! are decoded.

use kdl::{KdlEntry, KdlNode, KdlValue};

use super::cx::{Cx, entry_span, name_span, node_name};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{
    Compression, CsvOptions, Encoding, Format, Location, PathSegment, Pick, S3Location, Source,
    SourceLimits, Spanned,
};
use crate::values;

const FILE_CHILDREN: &[&str] = &[
    "pick",
    "format",
    "columns",
    "compression",
    "record",
    "limits",
];
const S3_ONLY_CHILDREN: &[&str] = &[
    "key-pattern",
    "endpoint",
    "region",
    "path-style",
    "delete-older",
];
const CSV_PROPS: &[&str] = &["delimiter", "quote", "header", "encoding", "ragged-rows"];

/// Which kind of source is being read.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    File,
    S3,
}

/// Lowers a `source` node; `None` when it is too broken to describe.
pub(crate) fn lower_source(cx: &mut Cx, node: &KdlNode) -> Option<Source> {
    let args = cx.args(
        node,
        1,
        Some(2),
        "`source file PATH { ... }` or `source s3 bucket=... { ... }`",
    );
    let kind = cx.choice(
        args.first()?,
        "source kind",
        &[("file", Kind::File), ("s3", Kind::S3)],
    )?;
    let location = match kind {
        Kind::File => file_location(cx, node, &args)?,
        Kind::S3 => s3_location(cx, node, &args)?,
    };
    let location = match location {
        Location::S3(s3) => Location::S3(s3_children(cx, node, s3)),
        file => file,
    };

    let mut allowed: Vec<&str> = FILE_CHILDREN.to_vec();
    allowed.extend(S3_ONLY_CHILDREN);
    let children = cx.children(node, &allowed);
    if kind == Kind::File {
        refuse_s3_only(cx, &children);
    }

    let pick = lower_pick(cx, &children);
    let compression = lower_compression(cx, &children);
    let limits = cx
        .single(&children, "limits")
        .map(|node| lower_limits(cx, node))
        .unwrap_or_default();
    let record_path = match cx.single(&children, "record") {
        Some(node) => {
            cx.props(node, &[], "`record`");
            cx.no_children(node);
            let args = cx.args(node, 1, None, "`record STEP...`");
            path_steps(cx, &args, "a record path step")
        }
        None => Vec::new(),
    };
    let columns = cx.single(&children, "columns").map(|node| {
        cx.props(node, &[], "`columns`");
        cx.no_children(node);
        let args = cx.args(node, 1, None, "`columns NAME...`");
        let names: Vec<String> = args
            .iter()
            .filter_map(|arg| cx.string(arg, "a column name"))
            .map(|name| name.value)
            .collect();
        (node, names)
    });
    let format = match cx.single(&children, "format") {
        Some(format_node) => lower_format(cx, format_node, columns.as_ref()),
        None => {
            cx.missing_node(
                node,
                "format",
                "`format jsonl`, `format json` or `format csv`",
            );
            None
        }
    };
    if let (Some((columns_node, _)), Some(format)) = (&columns, &format)
        && !matches!(format, Format::Csv(_))
    {
        cx.report(
            Diagnostic::error(
                Code::NotApplicable,
                "`columns` applies only to `format csv`",
            )
            .with_label(name_span(columns_node), "not a setting of this format")
            .with_help("remove `columns`, or read the source with `format csv`"),
        );
    }

    Some(Source {
        location,
        pick,
        // A missing or broken format is already reported; the placeholder
        // lets the later checks still run.
        format: format.unwrap_or(Format::Jsonl),
        compression,
        record_path,
        limits,
        span: name_span(node),
    })
}

/// Reports each child of a `source file` that only `source s3` takes.
fn refuse_s3_only(cx: &mut Cx, children: &[&KdlNode]) {
    for child in children {
        let name = node_name(child);
        if S3_ONLY_CHILDREN.contains(&name) {
            cx.report(
                Diagnostic::error(
                    Code::NotApplicable,
                    format!("`{name}` applies only to `source s3`"),
                )
                .with_label(name_span(child), "not a setting of `source file`")
                .with_help(format!(
                    "remove `{name}`, or read from S3 with `source s3 bucket=... prefix=...`"
                )),
            );
        }
    }
}

/// `pick newest|only`, newest when not written.
fn lower_pick(cx: &mut Cx, children: &[&KdlNode]) -> Pick {
    match cx.single(children, "pick") {
        Some(node) => word(
            cx,
            node,
            "pick",
            &[("newest", Pick::Newest), ("only", Pick::Only)],
        )
        .unwrap_or(Pick::Newest),
        None => Pick::Newest,
    }
}

/// `compression auto|gzip|none`, auto when not written.
fn lower_compression(cx: &mut Cx, children: &[&KdlNode]) -> Compression {
    match cx.single(children, "compression") {
        Some(node) => word(
            cx,
            node,
            "compression",
            &[
                ("auto", Compression::Auto),
                ("gzip", Compression::Gzip),
                ("none", Compression::None),
            ],
        )
        .unwrap_or(Compression::Auto),
        None => Compression::Auto,
    }
}

/// Largest `max-line`: one record is held in memory whole, so beyond this a
/// "record" is a runaway, not data.
const MAX_LINE_CEILING: u64 = 4 << 30;

/// `limits { max-line SIZE; max-decompressed SIZE; max-depth N }`.
fn lower_limits(cx: &mut Cx, node: &KdlNode) -> SourceLimits {
    cx.props(node, &[], "`limits`");
    cx.args(
        node,
        0,
        Some(0),
        "`limits { max-line \"16MiB\"; max-decompressed \"8GiB\"; max-depth 64 }`",
    );
    let children = cx.children(node, &["max-line", "max-decompressed", "max-depth"]);
    let mut limits = SourceLimits::default();
    if let Some(node) = cx.single(&children, "max-line")
        && let Some(arg) = one_arg(cx, node, "`max-line \"16MiB\"`")
    {
        limits.max_line = size(cx, arg, "`max-line`", MAX_LINE_CEILING);
    }
    if let Some(node) = cx.single(&children, "max-decompressed")
        && let Some(arg) = one_arg(cx, node, "`max-decompressed \"8GiB\"`")
    {
        limits.max_decompressed = size(cx, arg, "`max-decompressed`", u64::MAX);
    }
    if let Some(node) = cx.single(&children, "max-depth")
        && let Some(arg) = one_arg(cx, node, "`max-depth 64`")
        && let Some(depth) = cx.count(arg, "`max-depth`")
    {
        if (1..=128).contains(&depth.value) {
            limits.max_depth = Some(depth);
        } else {
            cx.out_of_range(arg, "`max-depth`", "1 to 128");
        }
    }
    limits
}

/// A size in bytes: a whole number, or text with a unit (`"16MiB"`).
fn size(cx: &mut Cx, entry: &KdlEntry, what: &str, ceiling: u64) -> Option<Spanned<u64>> {
    let bytes = match entry.value() {
        KdlValue::Integer(_) => cx.count(entry, what)?,
        _ => {
            let text = cx.string(entry, what)?;
            match values::parse_size(&text.value) {
                Ok(bytes) => Spanned::new(bytes, text.span),
                Err(reason) => {
                    cx.report(
                        Diagnostic::error(
                            Code::InvalidValue,
                            format!("`{}` is not a size", text.value),
                        )
                        .with_label(text.span, reason)
                        .with_help(
                            "write a number of bytes with a unit, e.g. \"16MiB\", \"8GiB\" or \"500MB\"",
                        ),
                    );
                    return None;
                }
            }
        }
    };
    if bytes.value == 0 || bytes.value > ceiling {
        let range = if ceiling == u64::MAX {
            "at least 1 byte".to_owned()
        } else {
            format!("1 byte to {}GiB", ceiling >> 30)
        };
        cx.out_of_range(entry, what, &range);
        return None;
    }
    Some(bytes)
}

/// `source file PATH`.
fn file_location(cx: &mut Cx, node: &KdlNode, args: &[&KdlEntry]) -> Option<Location> {
    cx.props(node, &[], "`source file`");
    let Some(path) = args.get(1) else {
        cx.report(
            Diagnostic::error(Code::MissingArgument, "`source file` needs a path")
                .with_label(name_span(node), "no path given")
                .with_help("write it as `source file \"../data/export.jsonl\" { ... }`; a glob such as `*.csv` picks one delivery"),
        );
        return None;
    };
    let path = cx.string(path, "the source path")?;
    Some(Location::File { path })
}

/// `source s3 bucket=SETTING prefix=TEXT`.
fn s3_location(cx: &mut Cx, node: &KdlNode, args: &[&KdlEntry]) -> Option<Location> {
    if let Some(extra) = args.get(1) {
        cx.report(
            Diagnostic::error(Code::UnexpectedArgument, "`source s3` takes no path argument")
                .with_label(entry_span(extra), "unexpected argument")
                .with_help("name the bucket and prefix as properties: `source s3 bucket=(env)\"BUCKET\" prefix=\"exports/\"`"),
        );
    }
    let props = cx.props(node, &["bucket", "prefix"], "`source s3`");
    let prefix = props
        .get("prefix")
        .and_then(|p| cx.string(p, "`prefix`"))
        .map(|p| p.value)
        .unwrap_or_default();
    let Some(bucket) = props.get("bucket") else {
        cx.missing_property(
            node,
            "bucket",
            "`source s3 bucket=(env)\"BUCKET\" prefix=\"...\"`",
        );
        return None;
    };
    let bucket = cx.setting(bucket, "`bucket`")?;
    Some(Location::S3(S3Location {
        bucket,
        prefix,
        key_pattern: None,
        endpoint: None,
        region: None,
        path_style: false,
        delete_older: false,
    }))
}

/// Reads the S3-only children into the location.
fn s3_children(cx: &mut Cx, node: &KdlNode, mut s3: S3Location) -> S3Location {
    // Unknown children are reported once, by the caller's `children`.
    let children: Vec<&KdlNode> = node
        .iter_children()
        .filter(|c| S3_ONLY_CHILDREN.contains(&node_name(c)))
        .collect();
    if let Some(node) = cx.single(&children, "key-pattern")
        && let Some(arg) = one_arg(cx, node, "`key-pattern \"{timestamp}/export.jsonl.gz\"`")
    {
        s3.key_pattern = cx.string(arg, "`key-pattern`");
        if let Some(pattern) = &s3.key_pattern
            && let Some(problem) = key_pattern_problem(&pattern.value)
        {
            cx.report(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("`{}` is not a key pattern", pattern.value),
                )
                .with_label(pattern.span, problem)
                .with_help("write literal text, `*` for any text within one `/` segment, and `{timestamp}` at most once"),
            );
        }
    }
    if let Some(node) = cx.single(&children, "endpoint")
        && let Some(arg) = one_arg(cx, node, "`endpoint (env)\"S3_ENDPOINT\"`")
    {
        s3.endpoint = cx.setting(arg, "`endpoint`");
    }
    if let Some(node) = cx.single(&children, "region")
        && let Some(arg) = one_arg(cx, node, "`region \"eu-west-2\"`")
    {
        s3.region = cx.setting(arg, "`region`");
    }
    if let Some(node) = cx.single(&children, "path-style")
        && let Some(arg) = one_arg(cx, node, "`path-style #true`")
    {
        s3.path_style = cx.bool(arg, "`path-style`").unwrap_or(false);
    }
    if let Some(node) = cx.single(&children, "delete-older")
        && let Some(arg) = one_arg(cx, node, "`delete-older #true`")
    {
        s3.delete_older = cx.bool(arg, "`delete-older`").unwrap_or(false);
    }
    s3
}

/// What makes `pattern` one the S3 source cannot compile: the rules of the
/// runtime's key patterns (`{timestamp}` once at most, no other `{`).
fn key_pattern_problem(pattern: &str) -> Option<&'static str> {
    const PLACEHOLDER: &str = "{timestamp}";
    if pattern.matches(PLACEHOLDER).count() > 1 {
        return Some("`{timestamp}` appears more than once");
    }
    // Occurrences of the placeholder cannot overlap, so any opening brace
    // left after removing them starts some other placeholder.
    let open = &PLACEHOLDER[..1];
    if pattern.replace(PLACEHOLDER, "").contains(open) {
        return Some("the only placeholder is `{timestamp}`");
    }
    None
}

/// `format jsonl|json|csv [csv options]`.
fn lower_format(
    cx: &mut Cx,
    node: &KdlNode,
    columns: Option<&(&KdlNode, Vec<String>)>,
) -> Option<Format> {
    cx.no_children(node);
    let args = cx.args(node, 1, Some(1), "`format jsonl|json|csv`");
    let props = cx.props(node, CSV_PROPS, "`format`");
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Jsonl,
        Json,
        Csv,
    }
    let kind = cx.choice(
        args.first()?,
        "format",
        &[
            ("jsonl", Kind::Jsonl),
            ("json", Kind::Json),
            ("csv", Kind::Csv),
        ],
    )?;
    if kind != Kind::Csv {
        for name in CSV_PROPS {
            if let Some(entry) = props.get(name) {
                cx.report(
                    Diagnostic::error(
                        Code::NotApplicable,
                        format!("`{name}=` applies only to `format csv`"),
                    )
                    .with_label(entry_span(entry), "not an option of this format")
                    .with_help(format!("remove `{name}=`")),
                );
            }
        }
        return Some(if kind == Kind::Json {
            Format::Json
        } else {
            Format::Jsonl
        });
    }
    let delimiter = props
        .get("delimiter")
        .and_then(|e| csv_char(cx, e, "`delimiter`"))
        .unwrap_or(b',');
    let quote = props
        .get("quote")
        .and_then(|e| csv_char(cx, e, "`quote`"))
        .unwrap_or(b'"');
    let header_entry = props.get("header");
    let header = header_entry
        .and_then(|e| cx.bool(e, "`header`"))
        .unwrap_or(true);
    let encoding = props
        .get("encoding")
        .and_then(|e| {
            cx.choice(
                e,
                "encoding",
                &[("utf-8", Encoding::Utf8), ("utf-16", Encoding::Utf16)],
            )
        })
        .unwrap_or(Encoding::Utf8);
    let ragged_rows = props
        .get("ragged-rows")
        .and_then(|e| cx.bool(e, "`ragged-rows`"))
        .unwrap_or(false);
    if !header && columns.is_none() {
        let span = header_entry
            .map(entry_span)
            .unwrap_or_else(|| name_span(node));
        cx.report(
            Diagnostic::error(Code::MissingColumns, "a CSV source without a header row needs `columns`")
                .with_label(span, "no header row")
                .with_help("name the columns in order beside `format`: `columns record_uid first_name last_name`"),
        );
    }
    Some(Format::Csv(CsvOptions {
        delimiter,
        quote,
        header,
        columns: columns.map(|(_, names)| names.clone()).unwrap_or_default(),
        encoding,
        ragged_rows,
    }))
}

/// A CSV delimiter or quote: exactly one ASCII character.
pub(crate) fn csv_char(cx: &mut Cx, entry: &KdlEntry, what: &str) -> Option<u8> {
    let text = cx.string(entry, what)?;
    match text.value.as_bytes() {
        [byte] if byte.is_ascii() => Some(*byte),
        _ => {
            cx.report(
                Diagnostic::error(
                    Code::InvalidCsvCharacter,
                    format!("{what} must be one ASCII character"),
                )
                .with_label(
                    text.span,
                    match text.value.chars().count() {
                        1 => "not an ASCII character".to_owned(),
                        n => format!("{n} characters"),
                    },
                )
                .with_help("write a single ASCII character, e.g. \",\", \";\" or \"\\t\""),
            );
            None
        }
    }
}

/// Record path steps: strings are object keys, integers array indexes.
pub(crate) fn path_steps(cx: &mut Cx, args: &[&KdlEntry], what: &str) -> Vec<PathSegment> {
    let mut steps = Vec::new();
    for arg in args {
        match arg.value() {
            KdlValue::Integer(i) if !super::cx::is_env(arg) => match usize::try_from(*i) {
                Ok(index) => steps.push(PathSegment::Index(index)),
                Err(_) => cx.out_of_range(arg, "an array index", "0 or more"),
            },
            _ => {
                if let Some(key) = cx.string(arg, what) {
                    steps.push(PathSegment::Key(key.value));
                }
            }
        }
    }
    steps
}

/// The single argument of a setting node such as `region "x"`.
pub(crate) fn one_arg<'a>(cx: &mut Cx, node: &'a KdlNode, usage: &str) -> Option<&'a KdlEntry> {
    cx.no_children(node);
    cx.props(node, &[], &format!("`{}`", node_name(node)));
    cx.args(node, 1, Some(1), usage).first().copied()
}

/// A node whose single argument is one of a fixed set of words.
pub(crate) fn word<T: Copy>(
    cx: &mut Cx,
    node: &KdlNode,
    what: &str,
    options: &[(&str, T)],
) -> Option<T> {
    let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
    let usage = format!("`{} {}`", node_name(node), names.join("|"));
    let arg = one_arg(cx, node, &usage)?;
    cx.choice(arg, what, options)
}
