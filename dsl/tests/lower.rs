//! The dsl's public API on small inline pipelines: defaults, collection of
//! every error, warnings, positions and paths resolved against the base folder.

use std::path::Path;

use rollcall_dsl::model::{Compression, Format, Location, MatchStrategy, OnAmbiguous, Pick};
use rollcall_dsl::{Code, load_str};

const MINIMAL: &str = r#"
pipeline staff {
    source file "staff.jsonl" { format jsonl }
    key id
    map { id "id" required=#true; }
}
"#;

fn codes(text: &str) -> Vec<Code> {
    codes_of(&load_str("t.kdl", text, Path::new(".")))
}

#[test]
fn a_minimal_pipeline_lowers_with_the_documented_defaults() {
    let loaded = load_str("t.kdl", MINIMAL, Path::new("."));
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let p = &loaded.pipelines[0];
    assert_eq!(p.name.value, "staff");
    assert_eq!(p.system, "staff");
    assert_eq!(p.file, Path::new("t.kdl"));
    assert!(matches!(&p.source.location, Location::File { path } if path.value == "staff.jsonl"));
    assert_eq!(p.source.pick, Pick::Newest);
    assert_eq!(p.source.compression, Compression::Auto);
    assert_eq!(p.source.format, Format::Jsonl);
    assert!(p.source.record_path.is_empty());
    assert_eq!(p.matching.strategy, MatchStrategy::None);
    assert_eq!(p.matching.on_ambiguous, OnAmbiguous::Hold);
    assert_eq!(p.lifecycle, Default::default());
    assert!(p.schema.is_none() && p.sinks.is_empty() && p.notifications.is_empty());
}

#[test]
fn every_error_in_every_pipeline_is_collected() {
    let found = codes(
        r#"
        pipeline a {
            source file "a.jsonl" { format jsonl; pick latest }
            key id
            map { id "id" required=#true; x "x" { lowercas } }
        }
        pipeline b {
            source file "b.jsonl" { format jsonl }
            key nope
            map { id "id" required=#true; }
            integrity { min-ratio 2 }
        }
        "#,
    );
    assert_eq!(
        found,
        [
            Code::InvalidValue,
            Code::UnknownNode,
            Code::UnknownField,
            Code::OutOfRange
        ]
    );
}

#[test]
fn a_pipeline_with_errors_is_not_returned() {
    let loaded = load_str("t.kdl", "pipeline a { key id }", Path::new("."));
    assert!(!loaded.is_valid());
    assert!(loaded.pipelines.is_empty());
    assert!(codes_of(&loaded).contains(&Code::MissingNode));
}

fn codes_of(loaded: &rollcall_dsl::Loaded) -> Vec<Code> {
    loaded.diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn warnings_leave_the_pipeline_valid() {
    let loaded = load_str(
        "t.kdl",
        &MINIMAL.replace(" required=#true", ""),
        Path::new("."),
    );
    assert!(loaded.is_valid());
    assert_eq!(loaded.warning_count(), 1);
    assert_eq!(loaded.diagnostics[0].code, Code::KeyNotRequired);
    assert_eq!(loaded.pipelines.len(), 1);

    let empty = load_str("empty.kdl", "// nothing yet\n", Path::new("."));
    assert!(empty.is_valid());
    assert_eq!(codes_of(&empty), [Code::NoPipeline]);
}

#[test]
fn positions_are_one_based_lines_and_character_columns() {
    let loaded = load_str(
        "t.kdl",
        "pipeline a {\n    sorce file \"x\"\n}\n",
        Path::new("."),
    );
    let unknown = loaded
        .diagnostics
        .iter()
        .find(|d| d.code == Code::UnknownNode)
        .unwrap();
    let position = unknown.position().unwrap();
    assert_eq!(
        (
            position.line,
            position.column,
            position.end_line,
            position.end_column
        ),
        (2, 5, 2, 10)
    );
    assert!(
        unknown
            .help
            .as_deref()
            .unwrap()
            .starts_with("did you mean `source`?")
    );
}

#[test]
fn schema_paths_resolve_against_the_base_folder() {
    let text = MINIMAL.replace(
        "key id",
        "schema \"schemas/record.schema.json\"\n    key id",
    );
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/validate");
    let loaded = load_str("t.kdl", &text, &base);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    assert_eq!(
        loaded.pipelines[0].schema.as_ref().unwrap().value,
        base.join("schemas/record.schema.json")
    );

    let elsewhere = load_str("t.kdl", &text, Path::new("/nonexistent"));
    assert_eq!(codes_of(&elsewhere), [Code::SchemaNotFound]);
}

#[test]
fn schemas_compile_as_the_runtime_compiles_them() {
    // The runtime resolves relative `$ref`s beside the schema and never
    // fetches remote ones; the checker must accept and refuse the same.
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/validate");
    let with = |schema: &str| {
        let text = MINIMAL.replace(
            "key id",
            &format!("schema \"schemas/{schema}\"\n    key id"),
        );
        codes_of(&load_str("t.kdl", &text, &base))
    };
    assert_eq!(with("with-ref.schema.json"), []);
    assert_eq!(with("remote-ref.schema.json"), [Code::SchemaInvalid]);
}

#[test]
fn env_is_accepted_only_where_env_capable() {
    let ok = MINIMAL.replace(
        r#"source file "staff.jsonl" { format jsonl }"#,
        r#"source s3 bucket=(env)"B" { format jsonl; region (env)"R"; endpoint (env)"E" }"#,
    );
    assert!(codes(&ok).is_empty());
    let bad = MINIMAL.replace(r#"source file "staff.jsonl""#, r#"source file (env)"PATH""#);
    assert_eq!(codes(&bad), [Code::EnvNotAllowed]);
    let bool_env = MINIMAL.replace("required=#true", "required=(env)\"REQ\"");
    // Diagnostics come in file order: `key` (line 4) before its field's `required=`.
    assert_eq!(
        codes(&bool_env),
        [Code::KeyNotRequired, Code::EnvNotAllowed]
    );
}

#[test]
fn validation_never_reads_environment_values() {
    // A variable that is unset here must not matter: only its name is kept.
    let text = MINIMAL.replace(
        r#"source file "staff.jsonl" { format jsonl }"#,
        r#"source s3 bucket=(env)"ROLLCALL_TEST_SURELY_UNSET_VARIABLE" { format jsonl }"#,
    );
    let loaded = load_str("t.kdl", &text, Path::new("."));
    assert!(loaded.is_valid());
    let Location::S3(s3) = &loaded.pipelines[0].source.location else {
        panic!("s3")
    };
    assert_eq!(
        s3.bucket,
        rollcall_dsl::model::Setting::Env("ROLLCALL_TEST_SURELY_UNSET_VARIABLE".into())
    );
}

#[test]
fn secret_names_with_literals_are_errors_but_env_references_are_not() {
    let with_upload = |password: &str| {
        MINIMAL.replace(
            "map {",
            &format!(
                "sink jsonl \"o.jsonl\" {{ upload sftp host=\"h\" user=\"u\" password={password} path=\"p\" host-key=\"SHA256:x\" }}\n    map {{"
            ),
        )
    };
    assert_eq!(codes(&with_upload("\"hunter2\"")), [Code::InlineSecret]);
    assert!(codes(&with_upload("(env)\"SFTP_PASSWORD\"")).is_empty());
}

#[test]
fn the_parse_module_reports_syntax_errors_with_the_file_name() {
    let errors = rollcall_dsl::parse::parse("pipelines/x.kdl", "pipeline a {").unwrap_err();
    assert_eq!(errors[0].code, Code::Syntax);
    assert_eq!(errors[0].file.as_ref().unwrap().name(), "pipelines/x.kdl");
}

#[test]
fn derive_unique_and_change_only_lifecycle_lower_and_are_checked() {
    let text = r#"
    pipeline feed {
        source file "people.json" { format json }
        key id
        map { id "id" required=#true; name "name" unique=#true; state "state" }
        lookup roles {
            source file "roles.csv" { format csv }
            key who
            on id
            many #true
            map { who "WHO" required=#true; role "ROLE" }
        }
        derive { fsem role { contains FSEM } }
        filter { keep fsem equals "true" }
        lifecycle { absent keep; remove-when state equals gone }
    }
    "#;
    let loaded = load_str("t.kdl", text, Path::new("."));
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let p = &loaded.pipelines[0];
    assert!(p.field("name").unwrap().unique);
    assert!(!p.field("id").unwrap().unique);
    assert_eq!(p.derived.len(), 1);
    assert_eq!(p.derived[0].name.value, "fsem");
    assert_eq!(p.lifecycle.absent, rollcall_dsl::model::Absent::Keep);
    let test = &p.lifecycle.remove_when[0];
    assert_eq!(test.field.value, "state");
    assert_eq!(
        test.condition,
        rollcall_dsl::model::Condition::Equals("gone".into())
    );

    // A derived field reading an unknown field, or taking a taken name.
    let found = codes(
        r#"
        pipeline feed {
            source file "people.json" { format json }
            key id
            map { id "id" required=#true; }
            derive { id "id"; x "nope" }
            lifecycle { remove-when missing_field present }
        }
        "#,
    );
    assert_eq!(
        found,
        [Code::FieldClash, Code::UnknownField, Code::UnknownField]
    );
}

#[test]
fn source_limits_lower_to_bytes_and_are_unset_by_default() {
    let loaded = load_str("t.kdl", MINIMAL, Path::new("."));
    assert_eq!(loaded.pipelines[0].source.limits, Default::default());

    let text = r#"
pipeline staff {
    source file "staff.jsonl" {
        format jsonl
        limits { max-line "64MiB"; max-decompressed "20GB"; max-depth 32; }
    }
    key id
    map { id "id" required=#true; }
}
"#;
    let loaded = load_str("t.kdl", text, Path::new("."));
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let limits = &loaded.pipelines[0].source.limits;
    assert_eq!(limits.max_line.as_ref().unwrap().value, 64 << 20);
    assert_eq!(
        limits.max_decompressed.as_ref().unwrap().value,
        20_000_000_000
    );
    assert_eq!(limits.max_depth.as_ref().unwrap().value, 32);

    let bad = text
        .replace("\"64MiB\"", "\"5GiB\"")
        .replace("max-depth 32", "max-depth 0; max-lines 3");
    assert_eq!(
        codes(&bad),
        [Code::OutOfRange, Code::OutOfRange, Code::UnknownNode]
    );
}
