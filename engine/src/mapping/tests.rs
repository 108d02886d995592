//! Tests of the whole mapping stage, on pipelines built by hand.

use std::path::PathBuf;

use rollcall_model::{
    Compression, Condition, Field, Filter, FilterAction, Format, Integrity, Lifecycle, Location,
    Lookup, Match, MatchStrategy, OnAmbiguous, OnMissing, Origin, PathSegment, Pick, Pipeline,
    Source, SourceLimits, Span, Spanned, Template, TemplatePart, Transform,
};
use serde_json::{Value, json};

use super::*;

fn spanned<T>(value: T) -> Spanned<T> {
    Spanned::new(value, Span::default())
}

fn key(text: &str) -> PathSegment {
    PathSegment::Key(text.to_owned())
}

fn source(record_path: Vec<PathSegment>) -> Source {
    Source {
        location: Location::File {
            path: spanned("x.jsonl".to_owned()),
        },
        pick: Pick::Newest,
        format: Format::Jsonl,
        compression: Compression::Auto,
        record_path,
        limits: SourceLimits::default(),
        span: Span::default(),
    }
}

/// A pipeline with only what mapping reads filled in.
fn pipeline(key_field: &str, fields: Vec<Field>) -> Pipeline {
    Pipeline {
        name: spanned("test".to_owned()),
        description: None,
        file: PathBuf::from("test.kdl"),
        system: "test".to_owned(),
        source: source(Vec::new()),
        schema: None,
        key: spanned(key_field.to_owned()),
        fields,
        lookups: Vec::new(),
        derived: Vec::new(),
        filters: Vec::new(),
        identity: Vec::new(),
        matching: Match {
            strategy: MatchStrategy::None,
            on_ambiguous: OnAmbiguous::Hold,
            span: Span::default(),
        },
        roles: Vec::new(),
        scope: None,
        integrity: Integrity::default(),
        lifecycle: Lifecycle::default(),
        keep_raw: false,
        sinks: Vec::new(),
        notifications: Vec::new(),
        targets: Vec::new(),
    }
}

fn field(name: &str, origin: Origin) -> Field {
    Field {
        name: spanned(name.to_owned()),
        origin,
        transforms: Vec::new(),
        default: None,
        required: false,
        unique: false,
        keep_missing: false,
        refers_to_key: false,
        span: Span::default(),
    }
}

/// A field read from a path of object keys.
fn at(name: &str, path: &[&str]) -> Field {
    field(
        name,
        Origin::Path(path.iter().map(|step| key(step)).collect()),
    )
}

fn required(mut field: Field) -> Field {
    field.required = true;
    field
}

fn with_default(mut field: Field, default: Value) -> Field {
    field.default = Some(default);
    field
}

fn with(mut field: Field, transforms: Vec<Transform>) -> Field {
    field.transforms = transforms.into_iter().map(spanned).collect();
    field
}

fn filter(action: FilterAction, field: &str, condition: Condition) -> Filter {
    Filter {
        action,
        field: spanned(field.to_owned()),
        condition,
        span: Span::default(),
    }
}

fn compile(pipeline: &Pipeline) -> Mapper {
    Mapper::compile(pipeline).expect("mapping compiles")
}

fn record(mapped: Mapped) -> Vec<Value> {
    match mapped {
        Mapped::Record(record) => record.values,
        other => panic!("expected a record, got {other:?}"),
    }
}

fn invalid(mapped: Mapped) -> Invalid {
    match mapped {
        Mapped::Invalid(invalid) => invalid,
        other => panic!("expected an invalid record, got {other:?}"),
    }
}

/// The staff-SSO example record of seed 000 (the activity-stream line).
fn staff_sso_line() -> Value {
    json!({"published": "2024-09-04T14:58:05.864Z", "object": {"id": "dit:StaffSSO:User:d1966051-cabc-40f2-8b56-16d42e30971f", "type": "dit:StaffSSO:User", "name": "Mr. Ernest Ramos DDS", "dit:StaffSSO:User:userId": "d1966051-cabc-40f2-8b56-16d42e30971f", "dit:StaffSSO:User:emailUserId": "ograham@example.net", "dit:StaffSSO:User:contactEmailAddress": "kaylamiller@example.com", "dit:StaffSSO:User:joined": "2024-09-04T14:58:05.867Z", "dit:StaffSSO:User:lastAccessed": "2024-09-04T14:58:05.867Z", "dit:StaffSSO:User:permittedApplications": [], "dit:StaffSSO:User:status": "inactive", "dit:StaffSSO:User:becameInactiveOn": "2024-09-04T14:58:05.867Z", "dit:firstName": "Roberta", "dit:lastName": "Brown", "dit:emailAddress": ["jlee@example.net"]}})
}

/// The staff-SSO pipeline of LANGUAGE.md, with a few more fields.
fn staff_sso_pipeline(schema: Option<PathBuf>) -> Pipeline {
    let mut pipeline = pipeline(
        "user_id",
        vec![
            required(at("user_id", &["dit:StaffSSO:User:userId"])),
            required(with(
                at("email", &["dit:StaffSSO:User:emailUserId"]),
                vec![Transform::Trim, Transform::Lowercase],
            )),
            at("first_name", &["dit:firstName"]),
            at("last_name", &["dit:lastName"]),
            field(
                "display_name",
                Origin::Template(Template {
                    text: "{first_name} {last_name}".to_owned(),
                    parts: vec![
                        TemplatePart::Field("first_name".to_owned()),
                        TemplatePart::Text(" ".to_owned()),
                        TemplatePart::Field("last_name".to_owned()),
                    ],
                }),
            ),
            with(
                at("status", &["dit:StaffSSO:User:status"]),
                vec![Transform::Values {
                    table: vec![
                        ("active".to_owned(), json!("active")),
                        ("inactive".to_owned(), json!("suspended")),
                    ],
                    otherwise: rollcall_model::Otherwise::Error,
                }],
            ),
            with(
                at("joined", &["dit:StaffSSO:User:joined"]),
                vec![Transform::Date {
                    from: "%Y-%m-%dT%H:%M:%S%.fZ".to_owned(),
                    to: "%Y-%m-%d".to_owned(),
                }],
            ),
            field(
                "first_email",
                Origin::Path(vec![key("dit:emailAddress"), PathSegment::Index(0)]),
            ),
            with(
                at("apps", &["dit:StaffSSO:User:permittedApplications"]),
                vec![
                    Transform::Pluck {
                        key: "key".to_owned(),
                    },
                    Transform::Sort,
                ],
            ),
            field("source", Origin::Const(json!("staff-sso"))),
        ],
    );
    pipeline.source = source(vec![key("object")]);
    pipeline.schema = schema.map(spanned);
    pipeline
}

#[test]
fn staff_sso_record_maps_end_to_end() {
    let mapper = compile(&staff_sso_pipeline(None));
    assert_eq!(
        mapper.field_names(),
        [
            "user_id",
            "email",
            "first_name",
            "last_name",
            "display_name",
            "status",
            "joined",
            "first_email",
            "apps",
            "source"
        ]
    );
    assert_eq!(mapper.key_index(), 0);
    let Mapped::Record(mapped) = mapper.map_record(&staff_sso_line()) else {
        panic!("the sample record maps")
    };
    assert_eq!(
        mapped.values,
        [
            json!("d1966051-cabc-40f2-8b56-16d42e30971f"),
            json!("ograham@example.net"),
            json!("Roberta"),
            json!("Brown"),
            json!("Roberta Brown"),
            json!("suspended"),
            json!("2024-09-04"),
            json!("jlee@example.net"),
            json!([]),
            json!("staff-sso"),
        ]
    );
    assert_eq!(
        mapper.key_of(&mapped),
        "d1966051-cabc-40f2-8b56-16d42e30971f"
    );
}

#[test]
fn staff_sso_with_schema_and_a_broken_record() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("staff-sso-record.schema.json");
    std::fs::write(
        &schema,
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "required": ["dit:StaffSSO:User:userId", "dit:StaffSSO:User:emailUserId"],
            "properties": {
                "dit:StaffSSO:User:userId": {"type": "string"},
                "dit:lastName": {"type": "string"},
                "dit:emailAddress": {"type": "array", "items": {"type": "string"}}
            }
        })
        .to_string(),
    )
    .unwrap();
    // As lowered: the schema path already resolved against the pipeline's folder.
    let pipeline = staff_sso_pipeline(Some(schema));
    let mapper = Mapper::compile(&pipeline).unwrap();
    assert!(matches!(
        mapper.map_record(&staff_sso_line()),
        Mapped::Record(_)
    ));

    let mut broken = staff_sso_line();
    broken["object"]["dit:lastName"] = json!(5);
    broken["object"]
        .as_object_mut()
        .unwrap()
        .remove("dit:StaffSSO:User:emailUserId");
    let invalid = invalid(mapper.map_record(&broken));
    assert_eq!(
        invalid.key.as_deref(),
        Some("d1966051-cabc-40f2-8b56-16d42e30971f")
    );
    assert_eq!(
        invalid.problems,
        [
            r#"(root): "dit:StaffSSO:User:emailUserId" is a required property"#,
            r#"/dit:lastName: 5 is not of type "string""#,
            r#"required field "email" (from "dit:StaffSSO:User:emailUserId") is missing"#,
            // The template still renders; the number is shown as its text.
        ]
    );
}

#[test]
fn missing_payload_is_invalid() {
    let mapper = compile(&staff_sso_pipeline(None));
    let invalid = invalid(mapper.map_record(&json!({"published": "x"})));
    assert_eq!(invalid.key, None);
    assert_eq!(invalid.problems, [r#"record has no payload at "object""#]);
}

#[test]
fn nested_paths_array_indexes_and_colon_keys() {
    let mapper = compile(&pipeline(
        "id",
        vec![
            at("id", &["dit:StaffSSO:User:userId"]),
            at("manager", &["manager", "id"]),
            field(
                "second",
                Origin::Path(vec![key("emails"), PathSegment::Index(1), key("address")]),
            ),
            field(
                "absent",
                Origin::Path(vec![key("emails"), PathSegment::Index(5)]),
            ),
        ],
    ));
    let raw = json!({
        "dit:StaffSSO:User:userId": "u1",
        "manager": {"id": "m7"},
        "emails": [{"address": "a@x"}, {"address": "b@x"}]
    });
    assert_eq!(
        record(mapper.map(&raw)),
        [json!("u1"), json!("m7"), json!("b@x"), Value::Null]
    );
}

#[test]
fn const_and_template_origins() {
    let mapper = compile(&pipeline(
        "id",
        vec![
            at("id", &["id"]),
            field("kind", Origin::Const(json!({"b": 1, "a": [true]}))),
            field(
                "label",
                Origin::Template(Template {
                    text: "{id}-{kind}".to_owned(),
                    parts: vec![
                        TemplatePart::Field("id".to_owned()),
                        TemplatePart::Text("-".to_owned()),
                        TemplatePart::Field("kind".to_owned()),
                    ],
                }),
            ),
        ],
    ));
    let values = record(mapper.map(&json!({"id": "x"})));
    assert_eq!(values[1], json!({"b": 1, "a": [true]}));
    assert_eq!(values[2], json!(r#"x-{"b":1,"a":[true]}"#));
}

#[test]
fn template_sees_transformed_earlier_fields() {
    let mapper = compile(&pipeline(
        "id",
        vec![
            at("id", &["id"]),
            with(at("last", &["last"]), vec![Transform::Uppercase]),
            field(
                "greeting",
                Origin::Template(Template {
                    text: "Dear {last}".to_owned(),
                    parts: vec![
                        TemplatePart::Text("Dear ".to_owned()),
                        TemplatePart::Field("last".to_owned()),
                    ],
                }),
            ),
        ],
    ));
    let values = record(mapper.map(&json!({"id": "x", "last": "Brown"})));
    assert_eq!(values[2], json!("Dear BROWN"));
}

#[test]
fn template_referring_to_a_later_field_does_not_compile() {
    let pipeline = pipeline(
        "id",
        vec![
            field(
                "id",
                Origin::Template(Template {
                    text: "{later}".to_owned(),
                    parts: vec![TemplatePart::Field("later".to_owned())],
                }),
            ),
            at("later", &["x"]),
        ],
    );
    let error = Mapper::compile(&pipeline).unwrap_err();
    assert!(
        matches!(error, CompileError::TemplateField { .. }),
        "{error:?}"
    );
}

#[test]
fn defaults_fill_null_and_missing_after_transforms() {
    let mapper = compile(&pipeline(
        "id",
        vec![
            at("id", &["id"]),
            with_default(at("missing", &["nope"]), json!("fallback")),
            with_default(at("null", &["null"]), json!(0)),
            with_default(at("present", &["present"]), json!("unused")),
            // The regex does not match, so the transform gives null and the
            // default applies after it.
            with_default(
                with(
                    at("code", &["code"]),
                    vec![Transform::Regex {
                        pattern: "^([0-9]+)$".to_owned(),
                        group: 1,
                    }],
                ),
                json!("none"),
            ),
            // An empty string (an empty CSV cell) is missing, as `required`
            // sees it: the default applies.
            with_default(at("empty", &["empty"]), json!("filled")),
        ],
    ));
    let values = record(
        mapper.map(&json!({"id": "x", "null": null, "present": "p", "code": "abc", "empty": ""})),
    );
    assert_eq!(
        values,
        [
            json!("x"),
            json!("fallback"),
            json!(0),
            json!("p"),
            json!("none"),
            json!("filled")
        ]
    );
}

#[test]
fn required_fields_reject_missing_null_and_empty() {
    let mapper = compile(&pipeline(
        "id",
        vec![
            required(at("id", &["id"])),
            required(at("email", &["dit:StaffSSO:User:emailUserId"])),
            required(with_default(at("team", &["team"]), json!("none"))),
        ],
    ));
    let problem = r#"required field "email" (from "dit:StaffSSO:User:emailUserId") is missing"#;
    for email in [None, Some(Value::Null), Some(json!("")), Some(json!("   "))] {
        let mut raw = json!({"id": "k"});
        if let Some(email) = email.clone() {
            raw["dit:StaffSSO:User:emailUserId"] = email;
        }
        let mapped = mapper.map(&raw);
        if email == Some(json!("   ")) {
            // White space is a value unless the pipeline trims it.
            assert!(matches!(mapped, Mapped::Record(_)), "{mapped:?}");
        } else {
            let invalid = invalid(mapped);
            assert_eq!(invalid.key.as_deref(), Some("k"));
            assert_eq!(invalid.problems, [problem], "email {email:?}");
        }
    }
}

#[test]
fn required_after_trim_rejects_blank() {
    let mapper = compile(&pipeline(
        "id",
        vec![
            at("id", &["id"]),
            required(with(at("email", &["e"]), vec![Transform::Trim])),
        ],
    ));
    let invalid = invalid(mapper.map(&json!({"id": "k", "e": "  "})));
    assert_eq!(
        invalid.problems,
        [r#"required field "email" (from "e") is missing"#]
    );
}

#[test]
fn number_key_becomes_its_text() {
    let mapper = compile(&pipeline(
        "id",
        vec![required(at("id", &["id"])), at("n", &["n"])],
    ));
    let Mapped::Record(mapped) = mapper.map(&json!({"id": 1234, "n": 5})) else {
        panic!("maps")
    };
    assert_eq!(mapped.values, [json!("1234"), json!(5)]);
    assert_eq!(mapper.key_of(&mapped), "1234");

    // An invalid record still reports its number key as text, to be held.
    let mapper = compile(&pipeline(
        "id",
        vec![at("id", &["id"]), required(at("n", &["n"]))],
    ));
    let invalid = invalid(mapper.map(&json!({"id": 1234})));
    assert_eq!(invalid.key.as_deref(), Some("1234"));
}

#[test]
fn empty_or_missing_key_is_invalid() {
    let mapper = compile(&pipeline(
        "id",
        vec![at("name", &["name"]), at("id", &["id"])],
    ));
    assert_eq!(mapper.key_index(), 1);
    for raw in [json!({"id": ""}), json!({"name": "x"}), json!({"id": null})] {
        let invalid = invalid(mapper.map(&raw));
        assert_eq!(invalid.key, None);
        assert_eq!(invalid.problems, [r#"key field "id" is empty"#]);
    }
    let invalid = invalid(mapper.map(&json!({"id": ["a"]})));
    assert_eq!(invalid.key, None);
    assert_eq!(
        invalid.problems,
        [r#"key field "id" must be a string or a number, got an array"#]
    );
}

#[test]
fn required_empty_key_reports_one_problem() {
    let mapper = compile(&pipeline("id", vec![required(at("id", &["id"]))]));
    let invalid = invalid(mapper.map(&json!({"id": ""})));
    assert_eq!(invalid.key, None);
    assert_eq!(
        invalid.problems,
        [r#"required field "id" (from "id") is missing"#]
    );
}

#[test]
fn type_mismatch_is_a_record_problem() {
    let mapper = compile(&pipeline(
        "id",
        vec![
            at("id", &["id"]),
            with_default(
                with(
                    at("phones", &["phones"]),
                    vec![Transform::Split {
                        separator: ";".to_owned(),
                    }],
                ),
                json!([]),
            ),
            at("after", &["after"]),
        ],
    ));
    let invalid = invalid(mapper.map(&json!({"id": "k", "phones": 5, "after": "still mapped"})));
    assert_eq!(invalid.key.as_deref(), Some("k"));
    assert_eq!(
        invalid.problems,
        [r#"field "phones": transform "split" expects a string, got a number"#]
    );
}

#[test]
fn values_otherwise_error_is_a_record_problem() {
    let mapper = compile(&staff_sso_pipeline(None));
    let mut line = staff_sso_line();
    line["object"]["dit:StaffSSO:User:status"] = json!("pending");
    let invalid = invalid(mapper.map_record(&line));
    assert_eq!(
        invalid.problems,
        [r#"field "status": transform "values" does not list the value "pending""#]
    );
}

#[test]
fn filters_keep_all_and_drop_any() {
    let mut pipeline = pipeline(
        "id",
        vec![
            at("id", &["id"]),
            at("roles", &["roles"]),
            at("email", &["email"]),
        ],
    );
    pipeline.filters = vec![
        filter(
            FilterAction::Keep,
            "roles",
            Condition::In(vec![
                "SUBJ_DEPT_ADMIN".to_owned(),
                "SUBJ_FACULTY".to_owned(),
            ]),
        ),
        filter(
            FilterAction::Drop,
            "email",
            Condition::Matches(r"@test\.example$".to_owned()),
        ),
        filter(FilterAction::Drop, "email", Condition::Missing),
    ];
    let mapper = compile(&pipeline);
    let map = |roles: Value, email: Value| {
        mapper.map(&json!({"id": "k", "roles": roles, "email": email}))
    };

    assert!(matches!(
        map(json!(["STUDENT", "SUBJ_FACULTY"]), json!("a@ex.org")),
        Mapped::Record(_)
    ));
    assert_eq!(map(json!(["STUDENT"]), json!("a@ex.org")), Mapped::Filtered);
    assert_eq!(
        map(json!("SUBJ_FACULTY"), json!("a@test.example")),
        Mapped::Filtered
    );
    assert_eq!(map(json!("SUBJ_FACULTY"), Value::Null), Mapped::Filtered);
}

#[test]
fn invalid_records_are_not_filtered() {
    let mut pipeline = pipeline(
        "id",
        vec![at("id", &["id"]), required(at("email", &["email"]))],
    );
    pipeline.filters = vec![filter(FilterAction::Drop, "email", Condition::Missing)];
    let mapper = compile(&pipeline);
    assert!(matches!(
        mapper.map(&json!({"id": "k"})),
        Mapped::Invalid(_)
    ));
}

#[test]
fn filters_on_lookup_fields_are_deferred() {
    let mut pipeline = pipeline("id", vec![at("id", &["id"])]);
    pipeline.lookups = vec![Lookup {
        name: spanned("roles".to_owned()),
        source: source(Vec::new()),
        key: spanned("kerberos".to_owned()),
        on: spanned("id".to_owned()),
        many: true,
        on_missing: OnMissing::Drop,
        fields: vec![at("kerberos", &["K"]), at("role_names", &["R"])],
        span: Span::default(),
    }];
    pipeline.filters = vec![
        filter(
            FilterAction::Keep,
            "role_names",
            Condition::In(vec!["A".to_owned()]),
        ),
        filter(
            FilterAction::Drop,
            "id",
            Condition::Equals("skip".to_owned()),
        ),
    ];
    let mapper = compile(&pipeline);
    assert_eq!(mapper.deferred_filters().len(), 1);
    assert_eq!(mapper.deferred_filters()[0].field.value, "role_names");
    // The mapper applies the filter it owns and not the deferred one.
    assert_eq!(mapper.map(&json!({"id": "skip"})), Mapped::Filtered);
    assert!(matches!(
        mapper.map(&json!({"id": "keep"})),
        Mapped::Record(_)
    ));

    // The engine compiles the deferred filters against the joined layout.
    let joined: Vec<String> = ["id", "kerberos", "role_names"].map(String::from).to_vec();
    let later = Filters::compile(mapper.deferred_filters(), &joined).unwrap();
    assert!(later.keeps(&[json!("keep"), json!("k"), json!(["B", "A"])]));
    assert!(!later.keeps(&[json!("keep"), json!("k"), json!(["B"])]));
}

#[test]
fn filter_on_an_unknown_field_does_not_compile() {
    let mut pipeline = pipeline("id", vec![at("id", &["id"])]);
    pipeline.filters = vec![filter(FilterAction::Keep, "nope", Condition::Present)];
    let error = Mapper::compile(&pipeline).unwrap_err();
    assert!(
        matches!(error, CompileError::FilterField { .. }),
        "{error:?}"
    );
}

#[test]
fn unknown_key_does_not_compile() {
    let error = Mapper::compile(&pipeline("nope", vec![at("id", &["id"])])).unwrap_err();
    assert!(
        matches!(error, CompileError::UnknownKey { .. }),
        "{error:?}"
    );
}

#[test]
fn missing_schema_file_does_not_compile() {
    let mut pipeline = pipeline("id", vec![at("id", &["id"])]);
    let dir = tempfile::tempdir().unwrap();
    pipeline.schema = Some(spanned(dir.path().join("absent.schema.json")));
    let error = Mapper::compile(&pipeline).unwrap_err();
    assert!(
        matches!(error, CompileError::SchemaRead { .. }),
        "{error:?}"
    );
}

#[test]
fn mapping_does_not_touch_the_raw_record() {
    let mapper = compile(&staff_sso_pipeline(None));
    let line = staff_sso_line();
    let before = line.clone();
    let _ = mapper.map_record(&line);
    assert_eq!(line, before);
}

#[test]
fn mapped_values_encode_stably() {
    let mapper = compile(&staff_sso_pipeline(None));
    let encode = || {
        let Mapped::Record(mapped) = mapper.map_record(&staff_sso_line()) else {
            panic!("maps")
        };
        let mut bytes = Vec::new();
        encode_fields(&mapped.values, &mut bytes);
        bytes
    };
    let bytes = encode();
    assert_eq!(bytes, encode());
    assert_eq!(
        bytes.iter().filter(|byte| **byte == 0x1e).count(),
        mapper.field_names().len()
    );
}
