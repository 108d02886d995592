//! `rollcall validate`, end to end: the broken corpus renders the expected
//! diagnostics (insta snapshots), good pipelines lower to the expected model,
//! the JSON report matches its schema, and the reference pipelines are clean.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rollcall_dsl::model::{
    ActionDialect, Channel, Compression, Condition, Encoding, ExternalMatcher, FilterAction,
    Format, IdentityKind, Limit, Location, MatchStrategy, NotifyOn, OnAmbiguous, OnMissing, Origin,
    Otherwise, PathSegment, Pick, Pipeline, QuoteStyle, RoleStatus, Setting, SinkKind,
    TemplatePart, Transform, Upload, Value,
};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs `rollcall validate ARGS` from the repository root, as a pipe (so
/// the rendering is plain and 100 columns wide).
fn validate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .arg("validate")
        .args(args)
        .current_dir(ROOT)
        .env("NO_COLOR", "1")
        .output()
        .expect("rollcall runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("utf-8 stderr")
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON value")
}

/// The corpus entries: single files, and folders validated as a whole.
fn broken_entries() -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(Path::new(ROOT).join("tests/validate/broken"))
            .expect("corpus folder")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "kdl"))
            .collect();
    entries.sort();
    entries
}

/// The code an entry's first file promises on its `// expect: CODE` line.
fn expected_code(entry: &Path) -> String {
    let file = if entry.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(entry)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files.remove(0)
    } else {
        entry.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("// expect: "))
        .unwrap_or_else(|| panic!("{} has no `// expect: CODE` line", file.display()))
        .trim()
        .to_owned()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(ROOT)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn broken_corpus_has_at_least_thirty_cases() {
    assert!(
        broken_entries().len() >= 30,
        "only {} cases",
        broken_entries().len()
    );
}

#[test]
fn every_broken_pipeline_fails_with_its_expected_code() {
    for entry in broken_entries() {
        let path = relative(&entry);
        let output = validate(&["--format", "json", &path]);
        assert_eq!(output.status.code(), Some(1), "{path} should be invalid");
        let report = json(&output);
        assert_eq!(report["valid"], false, "{path}");
        let code = expected_code(&entry);
        let codes: Vec<&str> = report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["severity"] == "error")
            .map(|d| d["code"].as_str().unwrap())
            .collect();
        assert!(
            codes.contains(&code.as_str()),
            "{path}: expected {code}, got {codes:?}"
        );
    }
}

#[test]
fn every_broken_pipeline_renders_its_snapshot() {
    for entry in broken_entries() {
        let path = relative(&entry);
        let output = validate(&[&path]);
        assert_eq!(output.status.code(), Some(1), "{path} should be invalid");
        let name = entry.file_stem().unwrap().to_str().unwrap().to_owned();
        insta::with_settings!({
            snapshot_path => "validate/snapshots",
            prepend_module_to_snapshot => false,
            description => format!("rollcall validate {path}"),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, stderr(&output));
        });
    }
}

#[test]
fn rendering_names_the_file_position_code_and_help() {
    let output = validate(&["tests/validate/broken/unknown-field-key.kdl"]);
    let text = stderr(&output);
    assert!(text.contains("rollcall::unknown-field"), "{text}");
    assert!(
        text.contains("[tests/validate/broken/unknown-field-key.kdl:4:9]"),
        "{text}"
    );
    assert!(text.contains("did you mean `user_id`?"), "{text}");
    assert!(text.ends_with("invalid: 1 error, 0 warnings\n"), "{text}");
}

#[test]
fn json_report_matches_its_schema() {
    let schema_text =
        std::fs::read_to_string(Path::new(ROOT).join("schemas/validate-output.schema.json"))
            .unwrap();
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    for args in [
        &["--format", "json", "tests/validate/broken"][..],
        &["--format", "json", "tests/validate/good"][..],
        &["--format", "json", "does/not/exist.kdl"][..],
    ] {
        let report = json(&validate(args));
        let errors: Vec<String> = validator
            .iter_errors(&report)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{args:?}: {errors:?}");
    }
}

#[test]
fn json_report_gives_positions_and_related_places() {
    let report = json(&validate(&[
        "--format",
        "json",
        "tests/validate/broken/duplicate-across-files",
    ]));
    assert_eq!(report["valid"], false);
    assert_eq!(report["error_count"], 1);
    assert_eq!(report["warning_count"], 0);
    let diagnostic = &report["diagnostics"][0];
    assert_eq!(
        diagnostic["file"],
        "tests/validate/broken/duplicate-across-files/b.kdl"
    );
    assert_eq!(diagnostic["code"], "rollcall::duplicate-pipeline");
    assert_eq!(diagnostic["severity"], "error");
    assert_eq!(
        (
            &diagnostic["line"],
            &diagnostic["column"],
            &diagnostic["end_line"],
            &diagnostic["end_column"]
        ),
        (&2.into(), &10.into(), &2.into(), &15.into())
    );
    assert!(diagnostic["help"].as_str().unwrap().contains("unique"));
    let related = &diagnostic["related"][0];
    assert_eq!(
        related["file"],
        "tests/validate/broken/duplicate-across-files/a.kdl"
    );
    assert_eq!(
        (&related["line"], &related["column"]),
        (&2.into(), &10.into())
    );
}

#[test]
fn collects_every_error_in_one_run() {
    let report = json(&validate(&[
        "--format",
        "json",
        "tests/validate/broken/many-errors.kdl",
    ]));
    let codes: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "rollcall::invalid-value",
            "rollcall::unknown-node",
            "rollcall::out-of-range",
            "rollcall::invalid-value",
            "rollcall::unknown-node",
            "rollcall::unknown-field",
        ]
    );
}

#[test]
fn good_pipelines_validate_clean() {
    let output = validate(&["tests/validate/good"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "valid: 4 pipelines\n");
}

#[test]
fn reference_pipelines_validate_clean() {
    let dir = Path::new(ROOT).join("pipelines");
    let count = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "kdl")
        })
        .count();
    assert!(count >= 1, "pipelines/ holds no .kdl file");
    // No path: the default is pipelines/.
    let output = validate(&[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = json(&validate(&["--format", "json"]));
    assert_eq!(report["valid"], true);
    assert_eq!(report["error_count"], 0);
}

#[test]
fn missing_path_is_an_error_and_bad_usage_exits_64() {
    let report = json(&validate(&["--format", "json", "does/not/exist.kdl"]));
    assert_eq!(report["diagnostics"][0]["code"], "rollcall::io");
    assert_eq!(report["diagnostics"][0]["file"], serde_json::Value::Null);
    assert_eq!(validate(&["does/not/exist.kdl"]).status.code(), Some(1));
    assert_eq!(validate(&["--format", "xml"]).status.code(), Some(64));
}

#[test]
fn an_empty_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["validate", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        json(&output)["diagnostics"][0]["code"],
        "rollcall::no-files"
    );
}

#[test]
fn validating_a_handful_of_files_is_fast() {
    let paths = [
        PathBuf::from(ROOT).join("tests/validate/good"),
        PathBuf::from(ROOT).join("pipelines"),
    ];
    rollcall_dsl::load_files(&paths); // warm the file cache
    let start = std::time::Instant::now();
    let loaded = rollcall_dsl::load_files(&paths);
    let elapsed = start.elapsed();
    assert!(loaded.is_valid());
    // Well under 50 ms in practice; the bound leaves room for a loaded CI
    // machine running an unoptimised build.
    assert!(elapsed.as_millis() < 250, "took {elapsed:?}");
}

// --- Good pipelines lower to the expected model -------------------------

fn good(name: &str) -> Vec<Pipeline> {
    let loaded =
        rollcall_dsl::load_files(&[Path::new(ROOT).join("tests/validate/good").join(name)]);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    loaded.pipelines
}

fn env(name: &str) -> Setting {
    Setting::Env(name.to_owned())
}

#[test]
fn cora_users_lowers_source_fields_identity_roles_policies_and_sinks() {
    let pipelines = good("cora-users.kdl");
    let p = &pipelines[0];
    assert_eq!(p.name.value, "cora-users");
    assert_eq!(
        p.description.as_deref(),
        Some("Staff SSO users synced to Cora")
    );
    assert_eq!(p.system, "staff-sso");
    assert!(p.keep_raw);

    let Location::S3(s3) = &p.source.location else {
        panic!("s3 source")
    };
    assert_eq!(s3.bucket, env("JML_BUCKET"));
    assert_eq!(s3.prefix, "data-flow-exports/StaffSSOUsersPipeline/");
    assert_eq!(
        s3.key_pattern.as_ref().unwrap().value,
        "{timestamp}/full_ingestion.jsonl.gz"
    );
    assert_eq!(s3.endpoint, Some(env("S3_ENDPOINT")));
    assert_eq!(s3.region, Some(Setting::Literal("eu-west-2".into())));
    assert!(s3.path_style);
    assert!(!s3.delete_older);
    assert_eq!(p.source.pick, Pick::Newest);
    assert_eq!(p.source.format, Format::Jsonl);
    assert_eq!(p.source.compression, Compression::Gzip);
    assert_eq!(
        p.source.record_path,
        vec![PathSegment::Key("object".into())]
    );
    assert!(
        p.schema
            .as_ref()
            .unwrap()
            .value
            .ends_with("schemas/record.schema.json")
    );

    assert_eq!(p.key.value, "user_id");
    let names: Vec<&str> = p.fields.iter().map(|f| f.name.value.as_str()).collect();
    assert_eq!(
        names,
        [
            "user_id",
            "email",
            "first_email",
            "first_name",
            "last_name",
            "display_name",
            "origin",
            "manager_id",
            "groups",
            "status"
        ]
    );
    let email = p.field("email").unwrap();
    assert!(email.required);
    assert_eq!(
        email.origin,
        Origin::Path(vec![PathSegment::Key(
            "dit:StaffSSO:User:emailUserId".into()
        )])
    );
    let transforms: Vec<&Transform> = email.transforms.iter().map(|t| &t.value).collect();
    assert_eq!(transforms, [&Transform::Trim, &Transform::Lowercase]);
    assert_eq!(
        p.field("first_email").unwrap().origin,
        Origin::Path(vec![
            PathSegment::Key("dit:emailAddress".into()),
            PathSegment::Index(0)
        ])
    );
    assert_eq!(
        p.field("first_name").unwrap().default,
        Some(serde_json::json!("Unknown"))
    );
    assert_eq!(
        p.field("last_name").unwrap().transforms[0].value,
        Transform::Uppercase
    );
    let Origin::Template(template) = &p.field("display_name").unwrap().origin else {
        panic!("template")
    };
    assert_eq!(
        template.parts,
        [
            TemplatePart::Field("first_name".into()),
            TemplatePart::Text(" ".into()),
            TemplatePart::Field("last_name".into()),
        ]
    );
    assert_eq!(
        p.field("origin").unwrap().origin,
        Origin::Const(serde_json::json!("staff-sso"))
    );
    assert_eq!(
        p.field("manager_id").unwrap().origin,
        Origin::Path(vec![
            PathSegment::Key("manager".into()),
            PathSegment::Key("id".into())
        ])
    );
    let group_transforms: Vec<&Transform> = p
        .field("groups")
        .unwrap()
        .transforms
        .iter()
        .map(|t| &t.value)
        .collect();
    assert_eq!(
        group_transforms,
        [&Transform::Pluck { key: "key".into() }, &Transform::Sort]
    );
    assert_eq!(
        p.field("status").unwrap().transforms[0].value,
        Transform::Values {
            table: vec![
                ("active".into(), serde_json::json!("active")),
                ("inactive".into(), serde_json::json!("suspended"))
            ],
            otherwise: Otherwise::Error,
        }
    );

    assert_eq!(p.identity.len(), 2);
    assert_eq!(p.identity[0].kind, IdentityKind::Email);
    assert_eq!(p.identity[0].type_name.value, "official");
    assert_eq!(p.identity[0].field.value, "email");
    assert!(p.identity[0].verified);
    assert_eq!(p.identity[1].kind, IdentityKind::Identifier);
    assert!(!p.identity[1].verified);
    let MatchStrategy::Email { type_name } = &p.matching.strategy else {
        panic!("match email")
    };
    assert_eq!(type_name.value, "official");
    assert_eq!(p.matching.on_ambiguous, OnAmbiguous::Oldest);

    let role = &p.roles[0];
    assert_eq!(role.affiliation, Some(Value::Fixed("staff".into())));
    let Some(Value::Field(ou)) = &role.ou else {
        panic!("ou from a field")
    };
    assert_eq!(ou.value, "origin");
    assert_eq!(role.title, Some(Value::Fixed("Employee".into())));
    let manager = role.manager.as_ref().unwrap();
    assert_eq!(
        (manager.field.value.as_str(), manager.type_name.as_str()),
        ("manager_id", "sso-user-id")
    );

    assert_eq!(p.integrity.min_ratio.as_ref().unwrap().value, 0.95);
    assert_eq!(
        p.integrity.max_removed.as_ref().unwrap().value,
        Limit::Percent(2.0)
    );
    assert_eq!(
        p.integrity.max_invalid.as_ref().unwrap().value,
        Limit::Count(10)
    );
    assert_eq!(p.integrity.min_records.as_ref().unwrap().value, 1000);
    assert_eq!(p.lifecycle.on_removal, RoleStatus::GracePeriod);
    assert_eq!(p.lifecycle.grace_period.seconds, 36 * 3600);
    assert_eq!(
        p.lifecycle.purge_after.as_ref().unwrap().value.seconds,
        90 * 86_400
    );
    assert!(p.lifecycle.reinstate);

    assert_eq!(p.sinks.len(), 3);
    assert_eq!(p.sinks[0].path.value, "../out/cora-users.json");
    let SinkKind::Actions(actions) = &p.sinks[0].kind else {
        panic!("actions sink")
    };
    assert_eq!(actions.dialect, ActionDialect::Cora);
    let fields: Vec<(&str, &str)> = actions
        .fields
        .iter()
        .map(|(n, f)| (n.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(fields, [("Email", "email"), ("ExternalId", "user_id")]);
    assert_eq!(
        actions.defaults,
        [
            ("Culture".to_owned(), serde_json::json!("en-GB")),
            ("EnableLogin".to_owned(), serde_json::json!(true))
        ]
    );
    assert_eq!(actions.reassign_to, Some(env("CORA_REASSIGN_TO")));
    assert_eq!(actions.groups.as_ref().unwrap().value, "groups");
    assert_eq!(
        actions.protected_groups,
        ["System Wide Access", "All Org Users"]
    );
    assert_eq!(
        p.sinks[0].uploads,
        [Upload::S3 {
            bucket: env("CORA_BUCKET"),
            key: "tenant/usersync/users.json".into(),
            endpoint: None,
            region: Some(env("CORA_REGION")),
            path_style: false,
        }]
    );
    assert_eq!(p.sinks[1].kind, SinkKind::Jsonl);
    let SinkKind::Json { fields } = &p.sinks[2].kind else {
        panic!("json sink")
    };
    assert_eq!(
        fields.iter().map(|f| f.value.as_str()).collect::<Vec<_>>(),
        ["user_id", "email"]
    );

    assert_eq!(p.notifications.len(), 1);
    assert_eq!(
        p.notifications[0].channel,
        Channel::Webhook {
            url: env("ALERT_WEBHOOK")
        }
    );
    assert_eq!(p.notifications[0].on, NotifyOn::Breach);
}

#[test]
fn cim_provisioning_lowers_lookup_filters_csv_sink_and_email() {
    let pipelines = good("cim-provisioning.kdl");
    let p = &pipelines[0];
    assert_eq!(
        p.system, "cim-provisioning",
        "system defaults to the pipeline name"
    );
    assert!(!p.keep_raw);
    assert!(
        matches!(&p.source.location, Location::File { path } if path.value == "../examples/mit/people.json")
    );
    assert_eq!(p.source.format, Format::Json);
    assert_eq!(p.source.pick, Pick::Only);
    assert_eq!(p.source.compression, Compression::None);
    let department: Vec<&Transform> = p
        .field("department")
        .unwrap()
        .transforms
        .iter()
        .map(|t| &t.value)
        .collect();
    assert_eq!(
        department,
        [
            &Transform::Split {
                separator: ";".into()
            },
            &Transform::First
        ]
    );
    assert_eq!(
        p.field("is_admin").unwrap().transforms[0].value,
        Transform::Contains {
            value: "SUBJ_DEPT_ADMIN".into()
        }
    );

    let lookup = &p.lookups[0];
    assert_eq!(lookup.name.value, "roles");
    assert_eq!(
        (lookup.key.value.as_str(), lookup.on.value.as_str()),
        ("kerberos", "kerberos_name")
    );
    assert!(lookup.many);
    assert_eq!(lookup.on_missing, OnMissing::Drop);
    assert!(
        matches!(&lookup.source.format, Format::Csv(csv) if csv.header && csv.delimiter == b',')
    );
    assert_eq!(lookup.fields.len(), 2);

    let filters: Vec<(FilterAction, &str, &Condition)> = p
        .filters
        .iter()
        .map(|f| (f.action, f.field.value.as_str(), &f.condition))
        .collect();
    assert_eq!(
        filters,
        [
            (
                FilterAction::Keep,
                "role_names",
                &Condition::In(vec![
                    "SUBJ_DEPT_ADMIN".into(),
                    "SUBJ_DEPT_ADMIN_FSEM".into(),
                    "SUBJ_FACULTY".into()
                ])
            ),
            (
                FilterAction::Drop,
                "email",
                &Condition::Matches(r"@test\.example$".into())
            ),
            (FilterAction::Drop, "email", &Condition::Missing),
            (
                FilterAction::Keep,
                "department",
                &Condition::NotIn(vec!["TEST".into(), "DEMO".into()])
            ),
            (FilterAction::Keep, "kerberos_name", &Condition::Present),
            (
                FilterAction::Drop,
                "department",
                &Condition::Equals("ARCHIVED".into())
            ),
            (
                FilterAction::Drop,
                "last_name",
                &Condition::NotEquals("x".into())
            ),
        ]
    );
    let MatchStrategy::Identifier { type_name } = &p.matching.strategy else {
        panic!("match identifier")
    };
    assert_eq!(type_name.value, "kerberos");
    assert_eq!(p.matching.on_ambiguous, OnAmbiguous::Hold);

    let SinkKind::Csv(csv) = &p.sinks[0].kind else {
        panic!("csv sink")
    };
    let columns: Vec<(&str, &str)> = csv
        .columns
        .iter()
        .map(|(h, f)| (h.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        columns,
        [
            ("FIRST_NAME", "first_name"),
            ("LAST_NAME", "last_name"),
            ("ROLES", "role_names")
        ]
    );
    assert!(csv.header);
    assert_eq!(csv.quote, QuoteStyle::All);
    assert!(!csv.formula_guard);
    assert_eq!(csv.delimiter, b';');
    assert_eq!(
        p.sinks[0].uploads,
        [Upload::Sftp {
            host: env("SFTP_HOST"),
            port: 2222,
            user: env("SFTP_USER"),
            password: Some(env("SFTP_PASSWORD")),
            key_file: None,
            path: "userprovisioning/feed.csv".into(),
            host_key: env("SFTP_HOST_KEY"),
        }]
    );
    assert_eq!(
        p.notifications[0].channel,
        Channel::Email {
            to: vec![
                Setting::Literal("cim-courses-support@mit.edu".into()),
                env("ONCALL_EMAIL")
            ],
            from: Some(env("MAIL_FROM")),
            subject: Some("Error in User-Provisioning Outbound Feed ({pipeline})".into()),
        }
    );
    assert_eq!(p.notifications[0].on, NotifyOn::Failure);
    // Defaults when not written.
    assert_eq!(p.lifecycle, Default::default());
    assert_eq!(p.integrity, Default::default());
    assert!(p.scope.is_none());
}

#[test]
fn school_pipelines_lower_csv_options_transforms_scope_and_external_match() {
    let pipelines = good("school-a.kdl");
    assert_eq!(pipelines.len(), 2);
    let p = &pipelines[0];
    assert_eq!(p.system, "school-db");
    let Format::Csv(csv) = &p.source.format else {
        panic!("csv")
    };
    assert_eq!((csv.delimiter, csv.quote, csv.header), (b';', b'\'', false));
    assert_eq!(csv.encoding, Encoding::Utf16);
    assert_eq!(
        csv.columns,
        [
            "record_uid",
            "first_name",
            "last_name",
            "class",
            "birthday",
            "mail"
        ]
    );
    assert_eq!(
        p.field("username").unwrap().transforms[0].value,
        Transform::Lowercase
    );
    assert_eq!(
        p.field("class").unwrap().transforms[0].value,
        Transform::Values {
            table: vec![
                ("5a".into(), serde_json::json!("5A")),
                ("5b".into(), serde_json::json!("5B"))
            ],
            otherwise: Otherwise::Value(serde_json::json!("unknown")),
        }
    );
    assert_eq!(
        p.field("birthday").unwrap().transforms[0].value,
        Transform::Date {
            from: "%d.%m.%Y".into(),
            to: "%Y-%m-%d".into()
        }
    );
    assert_eq!(
        p.field("mail_user").unwrap().transforms[0].value,
        Transform::Regex {
            pattern: "^([^@]+)@".into(),
            group: 1
        }
    );
    assert_eq!(
        p.field("whole").unwrap().transforms[0].value,
        Transform::Regex {
            pattern: "^.+$".into(),
            group: 0
        }
    );
    let tags: Vec<&Transform> = p
        .field("tags")
        .unwrap()
        .transforms
        .iter()
        .map(|t| &t.value)
        .collect();
    assert_eq!(
        tags,
        [
            &Transform::Split {
                separator: ",".into()
            },
            &Transform::Sort,
            &Transform::Join {
                separator: ",".into()
            }
        ]
    );
    let MatchStrategy::External { target, timeout } = &p.matching.strategy else {
        panic!("external")
    };
    assert_eq!(
        target,
        &ExternalMatcher::Command("./match-person.sh".into())
    );
    assert_eq!(timeout.value.seconds, 30);
    assert_eq!(p.roles.len(), 2);
    assert_eq!(
        p.roles[0].valid_from,
        Some(Value::Fixed("2024-08-01".into()))
    );
    assert!(matches!(&p.roles[0].valid_until, Some(Value::Field(f)) if f.value == "birthday"));
    let sponsor = p.roles[0].sponsor.as_ref().unwrap();
    assert_eq!(
        (sponsor.field.value.as_str(), sponsor.type_name.as_str()),
        ("mail_user", "teacher-id")
    );
    assert_eq!(p.roles[1].affiliation, Some(Value::Fixed("member".into())));
    let scope = p.scope.as_ref().unwrap();
    assert_eq!(
        (scope.kind.as_str(), scope.value.as_str()),
        ("school", "gym-mitte")
    );
    assert_eq!(p.lifecycle.on_removal, RoleStatus::Deleted);
    assert_eq!(p.lifecycle.limbo.as_deref(), Some("limbo"));
    assert!(!p.lifecycle.reinstate);

    let b = &pipelines[1];
    assert_eq!(b.name.value, "school-b");
    let MatchStrategy::External { target, timeout } = &b.matching.strategy else {
        panic!("external")
    };
    assert_eq!(target, &ExternalMatcher::Url(env("MATCH_URL")));
    assert_eq!(timeout.value.seconds, 10, "timeout defaults to 10s");
    assert_eq!(
        b.scope.as_ref().unwrap().kind,
        "ou",
        "scope kind defaults to ou"
    );
    assert!(
        matches!(&b.source.format, Format::Csv(csv) if csv.header && csv.encoding == Encoding::Utf8 && csv.quote == b'"')
    );
}

#[test]
fn the_corpus_shows_every_diagnostic_code() {
    // These need no pipeline file to show: they are tested above and in the
    // dsl crate's tests (a missing path, an empty folder, an empty file).
    let elsewhere = [
        "rollcall::io",
        "rollcall::no-files",
        "rollcall::no-pipeline",
    ];
    let dir = Path::new(ROOT).join("tests/validate/snapshots");
    let snapshots: String = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    for code in rollcall_dsl::Code::ALL {
        if elsewhere.contains(&code.as_str()) {
            continue;
        }
        assert!(
            snapshots.contains(code.as_str()),
            "no snapshot shows {code}"
        );
    }
}
