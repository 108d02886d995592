//! The mapping stage on pipelines written in KDL and lowered by the dsl, so
//! the two stages are checked to agree on what a pipeline file means.

// In a module so `cargo test -p rollcall-engine mapping` selects these too.
mod mapping_kdl {
    use std::path::{Path, PathBuf};

    use rollcall_dsl::model::Pipeline;
    use rollcall_dsl::{load_files, load_str};
    use rollcall_engine::mapping::{Mapped, Mapper};
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
        Mapper::compile(&pipeline, Path::new(".")).expect("compiles")
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
        let mapper = Mapper::compile(&pipeline, &repo().join("pipelines")).unwrap();
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
}
