//! The mapping stage on the reference staff-SSO pipeline (pipelines/staff-sso.kdl),
//! its record schema and both sample extracts.

// In a module so `cargo test -p rollcall-engine mapping` selects these too.
mod mapping {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    use rollcall_engine::mapping::{Mapped, Mapper, encode_fields};
    use rollcall_model::{
        Compression, Field, Format, Integrity, Lifecycle, Location, Match, MatchStrategy,
        OnAmbiguous, Origin, Otherwise, PathSegment, Pick, Pipeline, Source, SourceLimits, Span,
        Spanned, Transform,
    };
    use serde_json::{Value, json};

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn spanned<T>(value: T) -> Spanned<T> {
        Spanned::new(value, Span::default())
    }

    fn field(name: &str, path: &str, required: bool, transforms: Vec<Transform>) -> Field {
        Field {
            name: spanned(name.to_owned()),
            origin: Origin::Path(vec![PathSegment::Key(path.to_owned())]),
            transforms: transforms.into_iter().map(spanned).collect(),
            default: None,
            required,
            unique: false,
            keep_missing: false,
            refers_to_key: false,
            span: Span::default(),
        }
    }

    /// pipelines/staff-sso.kdl as the dsl lowers it (built by hand while the
    /// lowering is written in parallel): schema, key and `map`.
    fn staff_sso() -> Pipeline {
        use Transform::*;
        let pluck_key = Pluck {
            key: "key".to_owned(),
        };
        let statuses = Values {
            table: vec![
                ("active".to_owned(), json!("active")),
                ("inactive".to_owned(), json!("inactive")),
            ],
            otherwise: Otherwise::Error,
        };
        Pipeline {
            name: spanned("staff-sso".to_owned()),
            description: None,
            file: repo().join("pipelines/staff-sso.kdl"),
            system: "staff-sso".to_owned(),
            source: Source {
                location: Location::File {
                    path: spanned("../examples/staff-sso/day-*.jsonl".to_owned()),
                },
                pick: Pick::Newest,
                format: Format::Jsonl,
                compression: Compression::Auto,
                record_path: vec![PathSegment::Key("object".to_owned())],
                limits: SourceLimits::default(),
                span: Span::default(),
            },
            // Resolved against the pipeline's folder, as the lowering does.
            schema: Some(spanned(
                repo().join("pipelines/../schemas/staff-sso-record.schema.json"),
            )),
            key: spanned("user_id".to_owned()),
            fields: vec![
                field("user_id", "dit:StaffSSO:User:userId", true, vec![]),
                field(
                    "email_user_id",
                    "dit:StaffSSO:User:emailUserId",
                    true,
                    vec![Trim, Lowercase],
                ),
                field(
                    "contact_email",
                    "dit:StaffSSO:User:contactEmailAddress",
                    false,
                    vec![Trim, Lowercase],
                ),
                field("first_name", "dit:firstName", false, vec![Trim]),
                field("last_name", "dit:lastName", false, vec![Trim]),
                field("status", "dit:StaffSSO:User:status", true, vec![statuses]),
                field("emails", "dit:emailAddress", false, vec![Lowercase, Sort]),
                field(
                    "permitted_applications",
                    "dit:StaffSSO:User:permittedApplications",
                    false,
                    vec![pluck_key, Sort],
                ),
            ],
            lookups: vec![],
            derived: vec![],
            filters: vec![],
            identity: vec![],
            matching: Match {
                strategy: MatchStrategy::None,
                on_ambiguous: OnAmbiguous::Hold,
                span: Span::default(),
            },
            roles: vec![],
            scope: None,
            integrity: Integrity::default(),
            lifecycle: Lifecycle::default(),
            keep_raw: false,
            sinks: vec![],
            notifications: vec![],
            targets: vec![],
        }
    }

    fn mapper() -> Mapper {
        Mapper::compile(&staff_sso()).expect("the reference pipeline compiles")
    }

    fn lines(name: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(repo().join("examples/staff-sso").join(name)).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// Key → encoded mapped values of every record in an extract.
    fn fingerprints(mapper: &Mapper, name: &str) -> HashMap<String, Vec<u8>> {
        lines(name)
            .iter()
            .map(|line| match mapper.map_record(line) {
                Mapped::Record(record) => {
                    let mut bytes = Vec::new();
                    encode_fields(&record.values, &mut bytes);
                    (mapper.key_of(&record).to_owned(), bytes)
                }
                other => panic!("every sample record is valid, got {other:?}"),
            })
            .collect()
    }

    #[test]
    fn sample_extracts_map_without_invalid_records() {
        let mapper = mapper();
        assert_eq!(fingerprints(&mapper, "day-1.jsonl").len(), 200);
        assert_eq!(fingerprints(&mapper, "day-2.jsonl").len(), 201);
    }

    #[test]
    fn a_sample_record_maps_to_the_expected_values() {
        let mapper = mapper();
        let first = &lines("day-1.jsonl")[0];
        let Mapped::Record(record) = mapper.map_record(first) else {
            panic!("maps")
        };
        let values: HashMap<&str, &Value> = mapper
            .field_names()
            .iter()
            .map(String::as_str)
            .zip(&record.values)
            .collect();
        assert_eq!(
            values["user_id"],
            &json!("7a97c643-6564-42a9-b8a1-abcd1a6916c7")
        );
        assert_eq!(
            values["email_user_id"],
            &json!("liam.lee0@trade.example.gov")
        );
        assert_eq!(values["status"], &json!("active"));
        assert_eq!(
            values["emails"],
            &json!(["liam.lee0@trade.example.gov", "liam0@example.com"])
        );
        assert_eq!(
            values["permitted_applications"],
            &json!(["countries", "datahub", "peoplefinder"])
        );
    }

    #[test]
    fn day_two_changes_only_the_six_changed_records() {
        // Day 2 touches lastAccessed on every record, which is not mapped, so
        // only the six records whose mapped fields changed fingerprint anew.
        let mapper = mapper();
        let day1 = fingerprints(&mapper, "day-1.jsonl");
        let day2 = fingerprints(&mapper, "day-2.jsonl");
        let left = day1.keys().filter(|key| !day2.contains_key(*key)).count();
        let joined = day2.keys().filter(|key| !day1.contains_key(*key)).count();
        let changed = day1
            .iter()
            .filter(|(key, bytes)| day2.get(*key).is_some_and(|other| other != *bytes))
            .count();
        assert_eq!((left, joined, changed), (4, 5, 6));
    }

    #[test]
    fn schema_failures_name_their_pointer_and_keep_the_key() {
        let mapper = mapper();
        let mut line = lines("day-1.jsonl")[0].clone();
        line["object"]["dit:lastName"] = json!(5);
        line["object"]["dit:StaffSSO:User:status"] = json!("retired");
        let Mapped::Invalid(invalid) = mapper.map_record(&line) else {
            panic!("invalid")
        };
        assert_eq!(
            invalid.key.as_deref(),
            Some("7a97c643-6564-42a9-b8a1-abcd1a6916c7")
        );
        assert_eq!(
            invalid.problems,
            [
                r#"/dit:StaffSSO:User:status: "retired" is not one of "active" or "inactive""#,
                r#"/dit:lastName: 5 is not of type "string""#,
                r#"field "last_name": transform "trim" expects a string, got a number"#,
                r#"field "status": transform "values" does not list the value "retired""#,
            ]
        );
    }

    #[test]
    fn mapper_is_shared_across_threads() {
        let mapper = mapper();
        let records = lines("day-1.jsonl");
        let (first, second) = records.split_at(records.len() / 2);
        let valid = std::thread::scope(|scope| {
            let a = scope.spawn(|| {
                first
                    .iter()
                    .filter(|l| matches!(mapper.map_record(l), Mapped::Record(_)))
                    .count()
            });
            let b = scope.spawn(|| {
                second
                    .iter()
                    .filter(|l| matches!(mapper.map_record(l), Mapped::Record(_)))
                    .count()
            });
            a.join().unwrap() + b.join().unwrap()
        });
        assert_eq!(valid, 200);
    }
}
