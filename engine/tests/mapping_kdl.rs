//! The mapping stage on pipelines written in KDL and lowered by the dsl, so
//! the two stages are checked to agree on what a pipeline file means.

// In a module so `cargo test -p rollcall-engine mapping` selects these too.
mod mapping_kdl {
    use std::path::{Path, PathBuf};

    use rollcall_dsl::{load_files, load_str};
    use rollcall_engine::mapping::{Mapped, Mapper};
    use rollcall_model::Pipeline;
    use serde_json::{Value, json};

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn only_pipeline(loaded: rollcall_dsl::Loaded) -> Pipeline {
        assert!(loaded.is_valid(), "{:#?}", loaded.diagnostics);
        assert_eq!(loaded.pipelines.len(), 1);
        loaded.pipelines.into_iter().next().unwrap()
    }

    /// Compiles a `map`/`filter` snippet inside a minimal pipeline.
    fn mapper(body: &str) -> Mapper {
        let text = format!(
            "pipeline t {{\n    source file \"x.jsonl\" {{ format jsonl; }}\n    key id\n{body}\n}}\n"
        );
        let pipeline = only_pipeline(load_str("t.kdl", &text, Path::new(".")));
        Mapper::compile(&pipeline).expect("compiles")
    }

    fn values(mapped: Mapped) -> Vec<Value> {
        match mapped {
            Mapped::Record(record) => record.values,
            other => panic!("expected a record, got {other:?}"),
        }
    }

    #[test]
    fn reference_staff_sso_pipeline_maps_the_sample_extract() {
        let pipeline = only_pipeline(load_files(&[repo().join("pipelines/staff-sso.kdl")]));
        let mapper = Mapper::compile(&pipeline).unwrap();
        let text = std::fs::read_to_string(repo().join("examples/staff-sso/day-1.jsonl")).unwrap();
        let mut valid = 0;
        for line in text.lines() {
            let line: Value = serde_json::from_str(line).unwrap();
            match mapper.map_record(&line) {
                Mapped::Record(_) => valid += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(valid, 200);
    }

    #[test]
    fn kdl_transforms_defaults_and_paths() {
        let mapper = mapper(
            r#"
    map {
        id "dit:StaffSSO:User:userId" required=#true
        email "e" required=#true { trim; lowercase; }
        first_email "emails" 0
        manager "manager" "id"
        kind const="staff"
        display template="{email} ({kind})"
        status "s" default="unknown" {
            values otherwise="null" { A active; I inactive; }
        }
        born "b" { date from="%d/%m/%Y" to="%Y-%m-%d"; }
        user "e" { regex "^\\s*([^@]+)@"; }
        admin "roles" { contains "ADMIN"; }
        roles "roles" { sort; join ","; }
        tags "t" { split ";"; first; uppercase; }
    }"#,
        );
        let raw = json!({
            "dit:StaffSSO:User:userId": 42,
            "e": "  Ada@Example.ORG ",
            "emails": ["a@x", "b@x"],
            "manager": {"id": "m1"},
            "s": "X",
            "b": "31/12/1990",
            "roles": ["USER", "ADMIN"],
            "t": "red;green"
        });
        assert_eq!(
            values(mapper.map(&raw)),
            [
                json!("42"),
                json!("ada@example.org"),
                json!("a@x"),
                json!("m1"),
                json!("staff"),
                json!("ada@example.org (staff)"),
                json!("unknown"),
                json!("1990-12-31"),
                json!("Ada"),
                json!(true),
                json!("ADMIN,USER"),
                json!("RED"),
            ]
        );
    }

    #[test]
    fn kdl_filters() {
        let mapper = mapper(
            r#"
    map {
        id "id"
        email "email"
        roles "roles"
    }
    filter {
        keep roles in "SUBJ_DEPT_ADMIN" "SUBJ_FACULTY"
        drop email matches "@test\\.example$"
        drop email missing
    }"#,
        );
        let map = |raw: Value| mapper.map(&raw);
        assert!(matches!(
            map(json!({"id": "1", "email": "a@x.org", "roles": ["X", "SUBJ_FACULTY"]})),
            Mapped::Record(_)
        ));
        assert_eq!(
            map(json!({"id": "1", "email": "a@x.org", "roles": ["X"]})),
            Mapped::Filtered
        );
        assert_eq!(
            map(json!({"id": "1", "email": "a@test.example", "roles": "SUBJ_FACULTY"})),
            Mapped::Filtered
        );
        assert_eq!(
            map(json!({"id": "1", "roles": "SUBJ_FACULTY"})),
            Mapped::Filtered
        );
    }

    /// The fast path (`map_text`) either declines or gives exactly what
    /// parsing the line and mapping its payload gives.
    fn assert_fast_agrees(mapper: &Mapper, line: &str) -> bool {
        let mut slots = Vec::new();
        let fast = mapper.map_text(line, &mut slots);
        let Ok(parsed) = serde_json::from_str::<Value>(line) else {
            assert!(fast.is_none(), "bad JSON must go to the parser: {line}");
            return false;
        };
        let full = mapper.map_record(&parsed);
        match fast {
            Some(fast) => {
                assert_eq!(fast, full, "{line}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn fast_path_agrees_on_plucked_arrays_of_any_shape() {
        let text = "pipeline t {\n    source file \"x.jsonl\" { format jsonl; record \"o\"; }\n    key id\n    map {\n        id \"id\"\n        apps \"apps\" {\n            pluck key\n            sort\n        }\n    }\n}\n";
        let pipeline = only_pipeline(load_str("t.kdl", text, Path::new(".")));
        let mapper = Mapper::compile(&pipeline).unwrap();
        assert!(mapper.has_fast_path());
        let mut fast = 0;
        for apps in [
            r#"[{"key": "b", "n": 1}, {"key": "a"}]"#,
            r#"[{"key": "b"}, null, {"other": 1}]"#,
            r#"["text", {"key": "a"}]"#,
            r#"[[1], {"key": "a"}]"#,
            r#"{"key": "a"}"#,
            r#""a""#,
            r#"null"#,
            r#"[]"#,
        ] {
            let line = format!(r#"{{"o": {{"id": "1", "apps": {apps}}}}}"#);
            fast += usize::from(assert_fast_agrees(&mapper, &line));
        }
        assert_eq!(fast, 8, "without a schema every line takes the fast path");
        // A member named twice on a needed path is never answered by the
        // fast path: the record reader refuses it with its place.
        let twice = r#"{"o": {"id": "1", "apps": [{"key": "b", "key": "c"}]}}"#;
        assert!(mapper.map_text(twice, &mut Vec::new()).is_none(), "{twice}");
    }

    #[test]
    fn fast_path_agrees_with_the_full_path_on_the_reference_pipeline() {
        let pipeline = only_pipeline(load_files(&[repo().join("pipelines/staff-sso.kdl")]));
        let mapper = Mapper::compile(&pipeline).unwrap();
        assert!(mapper.has_fast_path());
        for day in ["day-1.jsonl", "day-2.jsonl"] {
            let text =
                std::fs::read_to_string(repo().join("examples/staff-sso").join(day)).unwrap();
            for line in text.lines() {
                assert!(
                    assert_fast_agrees(&mapper, line),
                    "valid lines take the fast path: {line}"
                );
            }
        }
        let sample = r#"{"published": "2024-09-04T14:58:05.864Z", "object": {"id": "dit:StaffSSO:User:d1", "type": "dit:StaffSSO:User", "name": "Roberta Brown", "dit:StaffSSO:User:userId": "d1", "dit:StaffSSO:User:emailUserId": " OGraham@Example.net ", "dit:StaffSSO:User:contactEmailAddress": null, "dit:StaffSSO:User:joined": "2024-09-04T14:58:05.867Z", "dit:StaffSSO:User:lastAccessed": "2024-09-04T14:58:05.867Z", "dit:StaffSSO:User:permittedApplications": [{"key": "datahub", "name": "Data Hub"}, {"key": "countries"}], "dit:StaffSSO:User:status": "inactive", "dit:StaffSSO:User:becameInactiveOn": "2024-09-04T14:58:05.867Z", "dit:firstName": "Roberta", "dit:lastName": "Brown", "dit:emailAddress": ["B@x.org", "a@x.org"]}}"#;
        assert!(assert_fast_agrees(&mapper, sample));
        // Each variant either takes the fast path with the same outcome, or
        // is left to the full path.
        let variants: Vec<String> = vec![
            sample.replace(r#""dit:firstName": "Roberta""#, r#""dit:firstName": 7"#),
            sample.replace(r#""name": "Roberta Brown""#, r#""name": 7"#),
            sample.replace(r#""type": "dit:StaffSSO:User""#, r#""type": "other""#),
            sample.replace(
                r#""dit:StaffSSO:User:status": "inactive""#,
                r#""dit:StaffSSO:User:status": "gone""#,
            ),
            sample.replace(r#""dit:StaffSSO:User:userId": "d1", "#, ""),
            sample.replace(
                r#""dit:StaffSSO:User:userId": "d1""#,
                r#""dit:StaffSSO:User:userId": """#,
            ),
            sample.replace(
                r#""dit:StaffSSO:User:emailUserId": " OGraham@Example.net ""#,
                r#""dit:StaffSSO:User:emailUserId": "   ""#,
            ),
            sample.replace(r#"{"key": "countries"}"#, r#"{"name": "no key"}"#),
            sample.replace(
                r#"{"key": "countries"}"#,
                r#"{"key": "countries", "key": "x"}"#,
            ),
            sample.replace(
                r#""dit:lastName": "Brown""#,
                r#""dit:lastName": "Brown", "dit:lastName": "Green""#,
            ),
            sample.replace(r#""name": "Roberta Brown""#, r#""name": "A", "name": "B""#),
            sample.replace(
                r#""dit:lastName": "Brown""#,
                r#""dit:lastName": "Br\u00f6wn\n\"x\"""#,
            ),
            sample.replace(
                r#""dit:StaffSSO:User:emailUserId""#,
                r#""dit:StaffSSO:User:email\u0055serId""#,
            ),
            sample.replace(
                r#""dit:StaffSSO:User:contactEmailAddress": null"#,
                r#""dit:StaffSSO:User:contactEmailAddress": " X@Y.Z ""#,
            ),
            sample.replace(
                r#""dit:emailAddress": ["B@x.org", "a@x.org"]"#,
                r#""dit:emailAddress": null"#,
            ),
            sample.replace(r#", "dit:emailAddress": ["B@x.org", "a@x.org"]"#, ""),
            sample.replace(
                r#""published": "2024-09-04T14:58:05.864Z""#,
                r#""published": 1e999"#,
            ),
            sample.replace(
                r#""published": "2024-09-04T14:58:05.864Z""#,
                r#""published": [1.5, {"a": null}]"#,
            ),
            sample.replace(
                r#""object": {"#,
                r#""extra": 1, "object": {"unknown": {"deep": [1, 2.5, true]}, "#,
            ),
            sample.replace(r#"{"published""#, r#"{"object": 1, "published""#),
            sample.replace(r#""object": {"#, r#""object": null, "x": {"#),
            format!("  {sample}  "),
            format!("{sample} trailing"),
            sample[..sample.len() - 1].to_owned(),
        ];
        let mut fast = 0;
        for variant in &variants {
            fast += usize::from(assert_fast_agrees(&mapper, variant));
        }
        // The well-formed, schema-valid variants are answered on the fast path.
        assert!(fast >= 8, "only {fast} variants took the fast path");
    }
}
