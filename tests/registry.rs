//! The identity registry, scenario by scenario, through the command line
//! against a real SQLite store: matching (seed 001's strategies), frozen
//! attributes, roles and relationships, the lifecycle and scoped partial
//! imports (seed 002's single source, partial import).

#[macro_use]
mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use support::{
    Backend, State, arg, assert_matches_schema, parts, repo, rollcall, state_dump, stdout_json,
};

/// A temporary folder with a state store, pipelines and extracts.
struct Registry {
    dir: tempfile::TempDir,
    db: State,
}

impl Registry {
    fn new(backend: Backend) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let db = State::new(backend, dir.path());
        Registry { dir, db }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a pipeline file reading CSV extracts.
    fn pipeline(&self, name: &str, body: &str) -> PathBuf {
        let path = self.path(&format!("{name}.kdl"));
        let text = format!(
            "pipeline {name} {{\n    source file \"{name}-*.csv\" {{ format csv; }}\n{body}\n}}\n"
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Writes an extract.
    fn csv(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `rollcall ARGS --state DB` at the time `now`.
    fn cli(&self, args: &[&str], now: &str) -> Output {
        rollcall()
            .args(args)
            .args(["--state", arg(&self.db)])
            .env("ROLLCALL_NOW", now)
            .env("ROLLCALL_USER", "alice")
            .output()
            .expect("rollcall runs")
    }

    /// `rollcall run PIPELINE --input EXTRACT`, which must succeed.
    fn run(&self, pipeline: &Path, input: &Path, now: &str) -> Value {
        self.run_with(pipeline, input, now, &[])
    }

    fn run_with(&self, pipeline: &Path, input: &Path, now: &str, extra: &[&str]) -> Value {
        let mut args = vec![
            "run",
            arg(pipeline),
            "--input",
            arg(input),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let output = self.cli(&args, now);
        let (code, _, stderr) = parts(&output);
        assert_eq!(code, 0, "run failed: {stderr}");
        checked(stdout_json(&output))
    }

    /// `rollcall plan --format json`, checked against its schema.
    fn plan(&self, pipeline: &Path, input: &Path, now: &str) -> Value {
        let output = self.cli(
            &[
                "plan",
                arg(pipeline),
                "--input",
                arg(input),
                "--format",
                "json",
            ],
            now,
        );
        checked(stdout_json(&output))
    }

    /// The person a pipeline's record is linked to.
    fn person_of(&self, pipeline: &str, key: &str) -> i64 {
        let output = self.cli(&["show", pipeline, key, "--format", "json"], NOW);
        stdout_json(&output)["record"]["person_id"]
            .as_i64()
            .unwrap_or_else(|| panic!("{pipeline}/{key} has no person"))
    }

    /// `rollcall person ID --format json`.
    fn person(&self, id: i64) -> Value {
        stdout_json(&self.cli(&["person", &id.to_string(), "--format", "json"], NOW))
    }

    fn person_count(&self) -> i64 {
        self.db.count("SELECT count(*) FROM persons")
    }
}

const NOW: &str = "2025-03-01T08:00:00Z";

/// Checks a plan or run report against `schemas/plan-output.schema.json`.
fn checked(report: Value) -> Value {
    assert_matches_schema(&report, "plan-output.schema.json");
    report
}

fn summary(report: &Value, count: &str) -> u64 {
    report["summary"][count].as_u64().unwrap()
}

fn registry<'r>(report: &'r Value, list: &str) -> &'r Vec<Value> {
    report["registry"][list].as_array().unwrap()
}

/// A portal whose accounts carry email addresses, verified or not, and
/// employee numbers; it creates the persons the HR pipeline then matches.
fn portal(reg: &Registry, verified: bool) -> PathBuf {
    reg.pipeline(
        "portal",
        &format!(
            r#"
    key id
    map {{
        id id required=#true
        email email
        employee employee
    }}
    identity {{
        email official email verified=#{verified}
        identifier employee-number employee
    }}
    "#
        ),
    )
}

/// HR records matched to existing persons by `strategy`.
fn hr(reg: &Registry, strategy: &str) -> PathBuf {
    reg.pipeline(
        "hr",
        &format!(
            r#"
    key id
    map {{
        id id required=#true
        email email
        employee employee
        title title
    }}
    identity {{
        email official email
        identifier employee-number employee
    }}
    match {strategy}
    "#
        ),
    )
}

fn a_person_is_matched_by_an_email_that_differs_only_in_case(backend: Backend) {
    let reg = Registry::new(backend);
    let portal = portal(&reg, true);
    let accounts = reg.csv(
        "accounts.csv",
        "id,email,employee\np-1,Ada.Lovelace@Uni.Example,E100\n",
    );
    reg.run(&portal, &accounts, NOW);
    let ada = reg.person_of("portal", "p-1");

    let hr = hr(&reg, "email official");
    let extract = reg.csv(
        "hr.csv",
        "id,email,employee,title\nh-1,ada.lovelace@uni.example,,Lecturer\n",
    );
    let plan = reg.plan(&hr, &extract, NOW);
    let links = registry(&plan, "links");
    assert_eq!(links.len(), 1, "{plan:#}");
    assert_eq!(links[0]["person"], ada);
    assert_eq!(links[0]["by"], "email");

    reg.run(&hr, &extract, NOW);
    assert_eq!(reg.person_of("hr", "h-1"), ada, "same person");
    assert_eq!(reg.person_count(), 1);
    assert_eq!(reg.person(ada)["person"]["attributes"]["title"], "Lecturer");
}

fn an_unverified_email_never_matches(backend: Backend) {
    let reg = Registry::new(backend);
    let portal = portal(&reg, false);
    let accounts = reg.csv(
        "accounts.csv",
        "id,email,employee\np-1,ada.lovelace@uni.example,E100\n",
    );
    reg.run(&portal, &accounts, NOW);

    let hr = hr(&reg, "email official");
    let extract = reg.csv(
        "hr.csv",
        "id,email,employee,title\nh-1,ada.lovelace@uni.example,,Lecturer\n",
    );
    let report = reg.run(&hr, &extract, NOW);
    assert!(registry(&report, "links").is_empty());
    assert_ne!(reg.person_of("hr", "h-1"), reg.person_of("portal", "p-1"));
    assert_eq!(reg.person_count(), 2, "a new person, not a guess");
}

fn two_persons_sharing_an_email_hold_the_record_as_ambiguous_and_nothing_changes(backend: Backend) {
    let reg = Registry::new(backend);
    let portal = portal(&reg, true);
    let accounts = reg.csv(
        "accounts.csv",
        "id,email,employee\np-1,shared@uni.example,E100\np-2,SHARED@uni.example,E200\n",
    );
    reg.run(&portal, &accounts, NOW);
    let (first, second) = (
        reg.person_of("portal", "p-1"),
        reg.person_of("portal", "p-2"),
    );
    let before = state_dump(&reg.db);

    let holding = hr(&reg, "email official");
    let extract = reg.csv(
        "hr.csv",
        "id,email,employee,title\nh-1,shared@uni.example,,Lecturer\n",
    );
    let plan = reg.plan(&holding, &extract, NOW);
    let ambiguous = registry(&plan, "ambiguous");
    assert_eq!(ambiguous.len(), 1, "{plan:#}");
    assert_eq!(ambiguous[0]["key"], "h-1");
    assert_eq!(ambiguous[0]["by"], "email");
    let candidates: Vec<i64> = ambiguous[0]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["person"].as_i64().unwrap())
        .collect();
    assert_eq!(candidates, [first, second], "every candidate is listed");

    let report = reg.run(&holding, &extract, NOW);
    assert_eq!(summary(&report, "ambiguous"), 1);
    assert_eq!(summary(&report, "created"), 0);
    assert_eq!(state_dump(&reg.db), before, "nothing changed");
    let text = parts(&reg.cli(&["plan", arg(&holding), "--input", arg(&extract)], NOW)).1;
    assert!(
        text.contains("? ambiguous h-1") && text.contains(&format!("candidate person {first}")),
        "{text}"
    );

    // A pipeline that chooses a deterministic policy links the oldest.
    let oldest = hr(&reg, "email official on-ambiguous=oldest");
    let report = reg.run(&oldest, &extract, NOW);
    assert_eq!(summary(&report, "created"), 1);
    let link = &registry(&report, "links")[0];
    assert_eq!(link["person"], first);
    assert_eq!(link["chosen"], "oldest");
    assert_eq!(link["candidates"].as_array().unwrap().len(), 2);
    assert_eq!(reg.person_of("hr", "h-1"), first);
}

fn identifiers_match_case_sensitively_and_only_while_active(backend: Backend) {
    let reg = Registry::new(backend);
    let portal = portal(&reg, true);
    let accounts = reg.csv("accounts.csv", "id,email,employee\np-1,,E100\np-2,,E200\n");
    reg.run(&portal, &accounts, NOW);
    let (e100, e200) = (
        reg.person_of("portal", "p-1"),
        reg.person_of("portal", "p-2"),
    );
    // p-2's employee number is reissued: E200 is kept, inactive.
    let reissued = reg.csv(
        "accounts-2.csv",
        "id,email,employee\np-1,,E100\np-2,,E201\n",
    );
    reg.run(&portal, &reissued, NOW);

    let hr = hr(&reg, "identifier employee-number");
    let extract = reg.csv(
        "hr.csv",
        "id,email,employee,title\nh-1,,E100,\nh-2,,e100,\nh-3,,E200,\nh-4,,E201,\n",
    );
    reg.run(&hr, &extract, NOW);
    assert_eq!(reg.person_of("hr", "h-1"), e100);
    assert_ne!(reg.person_of("hr", "h-2"), e100, "case-sensitive");
    assert_ne!(
        reg.person_of("hr", "h-3"),
        e200,
        "an inactive identifier never matches"
    );
    assert_eq!(reg.person_of("hr", "h-4"), e200);
}

fn a_suspended_person_is_matched_and_reinstated(backend: Backend) {
    let reg = Registry::new(backend);
    let portal = portal(&reg, true);
    reg.run(
        &portal,
        &reg.csv("a.csv", "id,email,employee\np-1,,E100\np-2,,E101\n"),
        NOW,
    );
    let leaver = reg.person_of("portal", "p-2");
    reg.run(
        &portal,
        &reg.csv("b.csv", "id,email,employee\np-1,,E100\n"),
        NOW,
    );
    assert_eq!(reg.person(leaver)["person"]["status"], "suspended");

    let hr = hr(&reg, "identifier employee-number");
    let report = reg.run_with(
        &hr,
        &reg.csv("hr.csv", "id,email,employee,title\nh-1,,E101,Lecturer\n"),
        NOW,
        &[],
    );
    assert_eq!(
        reg.person_of("hr", "h-1"),
        leaver,
        "status is ignored when matching"
    );
    assert_eq!(
        reg.person(leaver)["person"]["status"],
        "active",
        "re-evaluated"
    );
    let person_transitions: Vec<&Value> = registry(&report, "transitions")
        .iter()
        .filter(|t| t["role"].is_null())
        .collect();
    assert_eq!(person_transitions[0]["from"], "suspended");
    assert_eq!(person_transitions[0]["to"], "active");
}

/// Seed 001's pipeline: titles and telephone numbers from the HR extract.
fn staff(reg: &Registry) -> PathBuf {
    reg.pipeline(
        "staff",
        r#"
    key id
    map {
        id id required=#true
        name name
        telephone telephone
        job_title job_title
    }
    role {
        affiliation "staff"
        title field=job_title
    }
    "#,
    )
}

fn role_of(person: &Value, ordinal: i64) -> Value {
    person["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ordinal"] == ordinal)
        .cloned()
        .unwrap()
}

fn a_frozen_title_survives_a_resync_and_does_not_freeze_the_telephone(backend: Backend) {
    let reg = Registry::new(backend);
    let staff = staff(&reg);
    let day1 = reg.csv(
        "day1.csv",
        "id,name,telephone,job_title\ns-1,Charles Babbage,0102,Research Consultant IV\n",
    );
    reg.run(&staff, &day1, NOW);
    let person = reg.person_of("staff", "s-1");
    let role = role_of(&reg.person(person), 0)["id"].as_i64().unwrap();
    let title = format!("role.{role}.title");

    // Day to day he is the Principal Investigator: corrected and frozen.
    let output = reg.cli(
        &[
            "freeze",
            &person.to_string(),
            &title,
            "--value",
            "Principal Investigator",
            "--reason",
            "known as PI in practice",
        ],
        NOW,
    );
    assert_eq!(parts(&output).0, 0, "{}", parts(&output).2);
    assert_eq!(
        role_of(&reg.person(person), 0)["title"],
        "Principal Investigator"
    );

    // The next extract changes his telephone number; the title is unchanged.
    let day2 = reg.csv(
        "day2.csv",
        "id,name,telephone,job_title\ns-1,Charles Babbage,0199,Research Consultant IV\n",
    );
    let plan = reg.plan(&staff, &day2, NOW);
    let held = registry(&plan, "frozen");
    assert_eq!(held.len(), 1, "{plan:#}");
    assert_eq!(held[0]["attribute"], title);
    assert_eq!(held[0]["frozen"], "Principal Investigator");
    assert_eq!(held[0]["incoming"], "Research Consultant IV");
    assert_eq!(held[0]["frozen_by"], "alice");
    assert_eq!(held[0]["reason"], "known as PI in practice");

    reg.run(&staff, &day2, NOW);
    let after = reg.person(person);
    assert_eq!(role_of(&after, 0)["title"], "Principal Investigator");
    assert_eq!(
        after["person"]["attributes"]["telephone"], "0199",
        "freezing the role's title does not freeze the telephone"
    );

    // A forced re-sync keeps it too, and says so.
    let report = reg.run_with(&staff, &day2, NOW, &["--resync"]);
    assert_eq!(registry(&report, "frozen").len(), 1);
    assert_eq!(
        role_of(&reg.person(person), 0)["title"],
        "Principal Investigator"
    );

    let frozen = stdout_json(&reg.cli(&["frozen", "--format", "json"], NOW));
    assert_eq!(frozen["frozen"][0]["attribute"], title);
    assert_eq!(frozen["frozen"][0]["frozen_by"], "alice");
    assert_eq!(frozen["frozen"][0]["holds"], true);

    // Unfrozen, the next re-sync of that record writes the source's title.
    let output = reg.cli(&["unfreeze", &person.to_string(), &title], NOW);
    assert_eq!(parts(&output).0, 0, "{}", parts(&output).2);
    let report = reg.run_with(&staff, &day2, NOW, &["--resync", "s-1"]);
    assert_eq!(summary(&report, "updated"), 1);
    let change = &report["changes"][0];
    assert_eq!(change["fields"][0]["field"], title);
    assert_eq!(change["fields"][0]["after"], "Research Consultant IV");
    assert_eq!(
        role_of(&reg.person(person), 0)["title"],
        "Research Consultant IV"
    );
}

fn a_person_attribute_freeze_holds_until_its_date_and_a_whole_role_freeze_keeps_its_status(
    backend: Backend,
) {
    let reg = Registry::new(backend);
    let staff = staff(&reg);
    let day1 = reg.csv(
        "day1.csv",
        "id,name,telephone,job_title\ns-1,Ada,0101,Lecturer\ns-2,Emmy,0105,Professor\n",
    );
    reg.run(&staff, &day1, NOW);
    let ada = reg.person_of("staff", "s-1");
    let emmy = reg.person_of("staff", "s-2");
    let emmy_role = role_of(&reg.person(emmy), 0)["id"].as_i64().unwrap();
    let output = reg.cli(
        &[
            "freeze",
            &ada.to_string(),
            "telephone",
            "--until",
            "2025-03-10",
            "--by",
            "bob",
        ],
        NOW,
    );
    assert_eq!(parts(&output).0, 0, "{}", parts(&output).2);
    let output = reg.cli(
        &["freeze", &emmy.to_string(), &format!("role.{emmy_role}")],
        NOW,
    );
    assert_eq!(parts(&output).0, 0, "{}", parts(&output).2);

    // Emmy leaves the extract; her frozen role keeps its status.
    let day2 = reg.csv(
        "day2.csv",
        "id,name,telephone,job_title\ns-1,Ada,0111,Lecturer\n",
    );
    reg.run(&staff, &day2, "2025-03-05T08:00:00Z");
    assert_eq!(reg.person(ada)["person"]["attributes"]["telephone"], "0101");
    let emmy_now = reg.person(emmy);
    assert_eq!(role_of(&emmy_now, 0)["status"], "active");
    assert_eq!(emmy_now["person"]["status"], "active");

    // After its date the freeze has lapsed: a re-sync writes the source's value.
    let report = reg.run_with(&staff, &day2, "2025-03-11T08:00:00Z", &["--resync"]);
    assert!(registry(&report, "frozen").is_empty());
    assert_eq!(reg.person(ada)["person"]["attributes"]["telephone"], "0111");
    let listed = parts(&reg.cli(&["frozen"], "2025-03-11T08:00:00Z")).1;
    assert!(
        listed.contains("telephone") && listed.contains("(lapsed)"),
        "{listed}"
    );
}

fn freezing_an_unknown_attribute_or_a_stranger_role_is_refused_and_changes_nothing(
    backend: Backend,
) {
    let reg = Registry::new(backend);
    let staff = staff(&reg);
    reg.run(
        &staff,
        &reg.csv(
            "day1.csv",
            "id,name,telephone,job_title\ns-1,Ada,0101,Lecturer\ns-2,Emmy,0105,Professor\n",
        ),
        NOW,
    );
    let ada = reg.person_of("staff", "s-1");
    let emmy_role = role_of(&reg.person(reg.person_of("staff", "s-2")), 0)["id"]
        .as_i64()
        .unwrap();
    let before = state_dump(&reg.db);
    for (attribute, expected) in [
        ("shoe_size", "has no attribute \"shoe_size\""),
        (&format!("role.{emmy_role}.title") as &str, "has no role"),
        ("role.1.phone", "roles have no attribute \"phone\""),
    ] {
        let output = reg.cli(&["freeze", &ada.to_string(), attribute], NOW);
        let (code, _, stderr) = parts(&output);
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
    let (code, _, stderr) = parts(&reg.cli(&["freeze", "999", "telephone"], NOW));
    assert_eq!(code, 1);
    assert!(stderr.contains("there is no person 999"), "{stderr}");
    assert_eq!(state_dump(&reg.db), before);
}

fn several_roles_come_from_one_record_with_fixed_and_record_values(backend: Backend) {
    let reg = Registry::new(backend);
    let pipeline = reg.pipeline(
        "appointments",
        r#"
    key id
    map {
        id id required=#true
        department department
        title title
        second_department second_department
        second_title second_title
    }
    role {
        affiliation "faculty"
        ou field=department
        title field=title
    }
    role {
        affiliation "faculty"
        ou field=second_department
        title field=second_title
    }
    "#,
    );
    let extract = reg.csv(
        "a.csv",
        "id,department,title,second_department,second_title\n\
         x-1,Computing,Lecturer,Mathematics,Visiting Lecturer\n\
         x-2,Physics,Professor,,\n",
    );
    reg.run(&pipeline, &extract, NOW);
    let two = reg.person(reg.person_of("appointments", "x-1"));
    assert_eq!(two["roles"].as_array().unwrap().len(), 2);
    assert_eq!(role_of(&two, 0)["ou"], "Computing");
    assert_eq!(role_of(&two, 1)["ou"], "Mathematics");
    assert_eq!(role_of(&two, 1)["title"], "Visiting Lecturer");
    assert_eq!(
        role_of(&two, 1)["affiliation"],
        "faculty",
        "fixed by the pipeline"
    );
    let one = reg.person(reg.person_of("appointments", "x-2"));
    assert_eq!(
        one["roles"].as_array().unwrap().len(),
        1,
        "no second appointment"
    );

    // The second appointment ends: that role alone is suspended.
    let later = reg.csv(
        "b.csv",
        "id,department,title,second_department,second_title\n\
         x-1,Computing,Lecturer,,\n\
         x-2,Physics,Professor,,\n",
    );
    reg.run(&pipeline, &later, NOW);
    let two = reg.person(reg.person_of("appointments", "x-1"));
    assert_eq!(role_of(&two, 0)["status"], "active");
    assert_eq!(role_of(&two, 1)["status"], "suspended");
    assert_eq!(two["person"]["status"], "active");
}

/// Managers named by employee number (seed 001's Sync Identifier Type).
fn with_managers(reg: &Registry) -> PathBuf {
    reg.pipeline(
        "org",
        r#"
    key employee
    map {
        employee employee required=#true
        name name
        manager manager
    }
    identity {
        identifier employee-number employee
    }
    match identifier employee-number
    role {
        affiliation "staff"
        manager field=manager type=employee-number
    }
    "#,
    )
}

fn a_manager_identifier_that_resolves_is_linked_and_one_that_does_not_is_reported(
    backend: Backend,
) {
    let reg = Registry::new(backend);
    let org = with_managers(&reg);
    // The manager comes after her report in the file: links are resolved
    // once the whole extract is in.
    let day1 = reg.csv(
        "day1.csv",
        "employee,name,manager\nE2,Alan,E1\nE1,Ada,\nE3,Grace,E9\n",
    );
    let plan = reg.plan(&org, &day1, NOW);
    let unresolved = registry(&plan, "unresolved");
    assert_eq!(unresolved.len(), 1, "{plan:#}");
    assert_eq!(unresolved[0]["key"], "E3");
    assert_eq!(unresolved[0]["relation"], "manager");
    assert_eq!(unresolved[0]["type"], "employee-number");
    assert_eq!(unresolved[0]["value"], "E9");
    assert_eq!(unresolved[0]["candidates"], serde_json::json!([]));

    let report = reg.run(&org, &day1, NOW);
    assert_eq!(summary(&report, "created"), 3, "the record is not failed");
    assert_eq!(registry(&report, "unresolved").len(), 1);
    let alan = reg.person(reg.person_of("org", "E2"));
    assert_eq!(
        role_of(&alan, 0)["manager_person_id"],
        reg.person_of("org", "E1")
    );
    let grace = reg.person(reg.person_of("org", "E3"));
    assert_eq!(role_of(&grace, 0)["manager_person_id"], Value::Null);
    assert_eq!(role_of(&grace, 0)["manager"]["value"], "E9");
    let text = parts(&reg.cli(&["run", arg(&org), "--input", arg(&day1)], NOW)).1;
    assert!(
        text.contains("! unresolved E3 role 0 manager employee-number \"E9\""),
        "{text}"
    );

    // When E9 joins, the link left empty is resolved.
    let day2 = reg.csv(
        "day2.csv",
        "employee,name,manager\nE2,Alan,E1\nE1,Ada,\nE3,Grace,E9\nE9,Hedy,\n",
    );
    let report = reg.run(&org, &day2, NOW);
    assert!(registry(&report, "unresolved").is_empty(), "{report:#}");
    let grace = reg.person(reg.person_of("org", "E3"));
    assert_eq!(
        role_of(&grace, 0)["manager_person_id"],
        reg.person_of("org", "E9")
    );
}

fn school(name: &str) -> PathBuf {
    repo().join(format!("pipelines/ucs-school-{name}.kdl"))
}

const HEADER: &str = "record_uid;firstname;lastname;email;role;class;schools\n";

/// An export whose rows are all in one school (`a…` files: gym-mitte, else
/// rs-nord): `rows` and, so that one leaver stays within the pipelines'
/// `max-removed "30%"`, a class that never changes.
fn export(reg: &Registry, name: &str, rows: &[&str]) -> PathBuf {
    let mut text = HEADER.to_owned();
    let school = &name[..1];
    let full = if school == "a" {
        "gym-mitte"
    } else {
        "rs-nord"
    };
    for row in rows {
        text.push_str(&format!("{row};{full}\n"));
    }
    for i in 1..=5 {
        text.push_str(&format!(
            "uid-{school}{i};Kind;{i};kind{i}@{school}.schule.example;student;1{school};{full}\n"
        ));
    }
    reg.csv(name, &text)
}

const LENA: &str = "uid-1;Lena;Schmidt;lena@schule.example;student;7a";
const SOFIA: &str = "uid-2;Sofia;Klein;sofia@schule.example;teacher;";
const EMIL: &str = "uid-3;Emil;Fischer;emil@schule.example;student;5c";
const HANNA: &str = "uid-4;Hanna;Weber;hanna@schule.example;student;6a";
const JONAS: &str = "uid-5;Jonas;Becker;jonas@schule.example;student;7b";

fn a_user_in_two_schools_stays_active_until_the_last_school_removes_them_and_comes_back_from_limbo(
    backend: Backend,
) {
    let reg = Registry::new(backend);
    let (a, b) = (school("gym-mitte"), school("rs-nord"));
    // Each school imports its users separately, at a time of its choosing.
    reg.run(
        &a,
        &export(&reg, "a1.csv", &[LENA, SOFIA, JONAS]),
        "2025-03-01T06:00:00Z",
    );
    reg.run(
        &b,
        &export(&reg, "b1.csv", &[SOFIA, EMIL, HANNA]),
        "2025-03-02T06:00:00Z",
    );
    let sofia = reg.person_of("ucs-school-gym-mitte", "uid-2");
    assert_eq!(
        reg.person_of("ucs-school-rs-nord", "uid-2"),
        sofia,
        "one user in two schools"
    );

    // Removed from school A while still in school B: stays active.
    let report = reg.run(
        &a,
        &export(&reg, "a2.csv", &[LENA, JONAS]),
        "2025-03-03T06:00:00Z",
    );
    assert_eq!(summary(&report, "removed"), 1);
    let person = reg.person(sofia);
    assert_eq!(person["person"]["status"], "active");
    assert_eq!(person["person"]["limbo"], Value::Null);
    let in_a = person["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["scope"] == "gym-mitte")
        .unwrap();
    assert_eq!(
        in_a["status"], "suspended",
        "only the role in school A ended"
    );

    // Removed from the last school: deactivated and moved to limbo.
    let plan = reg.plan(
        &b,
        &export(&reg, "b2.csv", &[EMIL, HANNA]),
        "2025-03-04T06:00:00Z",
    );
    let moved = registry(&plan, "transitions")
        .iter()
        .find(|t| t["role"].is_null())
        .cloned()
        .unwrap();
    assert_eq!(moved["person"], sofia);
    assert_eq!(moved["to"], "suspended");
    assert_eq!(moved["limbo"]["to"], "limbo");
    assert_eq!(moved["purge_at"], "2025-04-03T06:00:00.000Z");
    reg.run(
        &b,
        &export(&reg, "b2.csv", &[EMIL, HANNA]),
        "2025-03-04T06:00:00Z",
    );
    let person = reg.person(sofia);
    assert_eq!(person["person"]["status"], "suspended");
    assert_eq!(person["person"]["limbo"], "limbo");

    // Another import of school A in between deletes no one.
    reg.run(
        &a,
        &export(&reg, "a3.csv", &[LENA, JONAS]),
        "2025-03-05T06:00:00Z",
    );
    assert_eq!(reg.person(sofia)["person"]["limbo"], "limbo");

    // Two imports later she reappears in school B: reinstated, same person.
    let report = reg.run(
        &b,
        &export(&reg, "b3.csv", &[SOFIA, EMIL, HANNA]),
        "2025-03-06T06:00:00Z",
    );
    assert_eq!(summary(&report, "reinstated"), 1);
    assert_eq!(reg.person_of("ucs-school-rs-nord", "uid-2"), sofia);
    let person = reg.person(sofia);
    assert_eq!(person["person"]["status"], "active");
    assert_eq!(person["person"]["limbo"], Value::Null);
    assert_eq!(person["person"]["purge_at"], Value::Null);
}

fn a_user_moved_from_school_a_to_school_b_is_the_same_person_linked_by_the_system(
    backend: Backend,
) {
    let reg = Registry::new(backend);
    let (a, b) = (school("gym-mitte"), school("rs-nord"));
    reg.run(
        &a,
        &export(&reg, "a1.csv", &[LENA, JONAS]),
        "2025-03-01T06:00:00Z",
    );
    let jonas = reg.person_of("ucs-school-gym-mitte", "uid-5");
    reg.run(&a, &export(&reg, "a2.csv", &[LENA]), "2025-03-02T06:00:00Z");
    assert_eq!(reg.person(jonas)["person"]["limbo"], "limbo");

    let plan = reg.plan(
        &b,
        &export(&reg, "b1.csv", &[JONAS, EMIL]),
        "2025-03-09T06:00:00Z",
    );
    let link = &registry(&plan, "links")[0];
    assert_eq!(link["key"], "uid-5");
    assert_eq!(link["person"], jonas);
    assert_eq!(link["by"], "system");
    reg.run(
        &b,
        &export(&reg, "b1.csv", &[JONAS, EMIL]),
        "2025-03-09T06:00:00Z",
    );
    assert_eq!(reg.person_of("ucs-school-rs-nord", "uid-5"), jonas);
    assert_eq!(reg.person(jonas)["person"]["status"], "active");
    assert_eq!(
        reg.person_count(),
        3 + 10,
        "with the two unchanging classes"
    );
}

fn a_user_left_in_limbo_past_the_grace_period_is_purged_and_it_is_in_the_change_log(
    backend: Backend,
) {
    let reg = Registry::new(backend);
    let a = school("gym-mitte");
    reg.run(
        &a,
        &export(&reg, "a1.csv", &[LENA, JONAS]),
        "2025-03-01T06:00:00Z",
    );
    let jonas = reg.person_of("ucs-school-gym-mitte", "uid-5");
    reg.run(&a, &export(&reg, "a2.csv", &[LENA]), "2025-03-02T06:00:00Z");

    // 29 days in limbo: not yet.
    let early = reg.cli(&["purge", "--format", "json"], "2025-03-31T06:00:00Z");
    assert_eq!(stdout_json(&early)["purged"], 0);
    // A dry run tells, and changes nothing.
    let before = state_dump(&reg.db);
    let dry = stdout_json(&reg.cli(
        &["purge", "--dry-run", "--format", "json"],
        "2025-04-02T06:00:00Z",
    ));
    assert_eq!(dry["purged"], 1);
    assert_eq!(dry["registry"]["purged"][0]["person"], jonas);
    assert_eq!(state_dump(&reg.db), before);

    // 31 days: purged.
    let output = reg.cli(&["purge", "--format", "json"], "2025-04-02T06:00:00Z");
    let purged = stdout_json(&output);
    assert_eq!(purged["purged"], 1);
    assert_eq!(
        purged["registry"]["purged"][0]["records"],
        serde_json::json!(["ucs-school-gym-mitte/uid-5"])
    );
    let (code, _, stderr) = parts(&reg.cli(&["person", &jonas.to_string()], NOW));
    assert_eq!(code, 1, "{stderr}");
    let log = stdout_json(&reg.cli(
        &["show", "ucs-school-gym-mitte", "uid-5", "--format", "json"],
        NOW,
    ));
    let actions: Vec<&str> = log["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "remove", "purge"]);
    let history = stdout_json(&reg.cli(&["history", "@purge", "--format", "json"], NOW));
    assert_eq!(history["runs"][0]["summary"]["purged"], 1);

    // Coming back after the purge makes a new person.
    reg.run(
        &a,
        &export(&reg, "a3.csv", &[LENA, JONAS]),
        "2025-04-03T06:00:00Z",
    );
    assert_ne!(reg.person_of("ucs-school-gym-mitte", "uid-5"), jonas);
}

fn a_run_purges_its_own_systems_persons_when_their_time_has_come(backend: Backend) {
    let reg = Registry::new(backend);
    let a = school("gym-mitte");
    reg.run(
        &a,
        &export(&reg, "a1.csv", &[LENA, JONAS]),
        "2025-03-01T06:00:00Z",
    );
    reg.run(&a, &export(&reg, "a2.csv", &[LENA]), "2025-03-02T06:00:00Z");
    let report = reg.run(&a, &export(&reg, "a3.csv", &[LENA]), "2025-04-05T06:00:00Z");
    assert_eq!(summary(&report, "purged"), 1);
    assert_eq!(registry(&report, "purged").len(), 1);
    assert_eq!(reg.person_count(), 1 + 5);
}

fn a_removed_role_waits_out_its_grace_period_before_it_is_suspended(backend: Backend) {
    let reg = Registry::new(backend);
    let pipeline = reg.pipeline(
        "contracts",
        r#"
    key id
    map {
        id id required=#true
    }
    lifecycle {
        on-removal expired
        grace-period "7d"
    }
    "#,
    );
    reg.run(
        &pipeline,
        &reg.csv("a.csv", "id\nc-1\nc-2\n"),
        "2025-03-01T06:00:00Z",
    );
    let person = reg.person_of("contracts", "c-2");
    let gone = reg.csv("b.csv", "id\nc-1\n");
    reg.run(&pipeline, &gone, "2025-03-02T06:00:00Z");
    let now = reg.person(person);
    assert_eq!(role_of(&now, 0)["status"], "grace-period");
    assert_eq!(role_of(&now, 0)["grace_until"], "2025-03-09T06:00:00.000Z");
    assert_eq!(
        now["person"]["status"], "grace-period",
        "not deactivated yet"
    );

    let plan = reg.plan(&pipeline, &gone, "2025-03-10T06:00:00Z");
    let causes: Vec<(&str, &str, &str)> = registry(&plan, "transitions")
        .iter()
        .map(|t| {
            (
                t["from"].as_str().unwrap(),
                t["to"].as_str().unwrap(),
                t["cause"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        causes,
        [
            ("grace-period", "expired", "grace-ended"),
            ("grace-period", "expired", "removed")
        ]
    );
    reg.run(&pipeline, &gone, "2025-03-10T06:00:00Z");
    let now = reg.person(person);
    assert_eq!(role_of(&now, 0)["status"], "expired");
    assert_eq!(now["person"]["status"], "expired");
}

fn plan_writes_nothing_and_reports_what_run_then_does(backend: Backend) {
    let reg = Registry::new(backend);
    let org = with_managers(&reg);
    let day1 = reg.csv("day1.csv", "employee,name,manager\nE2,Alan,E1\nE1,Ada,\n");
    reg.run(&org, &day1, NOW);
    let before = state_dump(&reg.db);
    // E2's rows in another pipeline's extract link to the same person by
    // employee number: the plan sees persons created earlier in the same
    // extract as candidates, as the run will.
    let appointments = reg.pipeline(
        "second",
        r#"
    key id
    map {
        id id required=#true
        employee employee
    }
    identity {
        identifier employee-number employee
    }
    match identifier employee-number
    "#,
    );
    let extract = reg.csv("second.csv", "id,employee\nr-1,E2\nr-2,E7\nr-3,E7\n");
    let plan = reg.plan(&appointments, &extract, NOW);
    assert_eq!(state_dump(&reg.db), before, "plan writes nothing");
    let links: Vec<(String, Value)> = registry(&plan, "links")
        .iter()
        .map(|l| (l["key"].as_str().unwrap().to_owned(), l["person"].clone()))
        .collect();
    let alan = reg.person_of("org", "E2");
    assert_eq!(
        links,
        [
            ("r-1".to_owned(), Value::from(alan)),
            ("r-3".to_owned(), Value::Null)
        ],
        "r-3 joins the person r-2 creates"
    );
    let report = reg.run(&appointments, &extract, NOW);
    assert_eq!(summary(&report, "created"), summary(&plan, "created"));
    assert_eq!(reg.person_of("second", "r-1"), alan);
    assert_eq!(
        reg.person_of("second", "r-2"),
        reg.person_of("second", "r-3")
    );
}

/// A pipeline matched by an external matcher.
fn external(reg: &Registry, target: &str) -> PathBuf {
    reg.pipeline(
        "visitors",
        &format!(
            r#"
    key id
    map {{
        id id required=#true
        name name
    }}
    match external {target} timeout="2s"
    "#
        ),
    )
}

fn an_external_command_matches_records_and_a_silent_one_fails_the_run_cleanly(backend: Backend) {
    let reg = Registry::new(backend);
    let portal = portal(&reg, true);
    reg.run(
        &portal,
        &reg.csv("a.csv", "id,email,employee\np-1,,E1\np-2,,E2\n"),
        NOW,
    );
    let (first, second) = (
        reg.person_of("portal", "p-1"),
        reg.person_of("portal", "p-2"),
    );
    // The record arrives as JSON on stdin; the answer is an id, ids or none.
    let script = reg.path("match.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ninput=$(cat)\ncase \"$input\" in\n  *'\"name\":\"Ada\"'*) echo {first} ;;\n  *'\"name\":\"Twin\"'*) echo \"{first} {second}\" ;;\n  *) echo none ;;\nesac\n"
        ),
    )
    .unwrap();
    let visitors = external(&reg, "command=\"sh ./match.sh\"");
    let extract = reg.csv("v.csv", "id,name\nv-1,Ada\nv-2,Grace\nv-3,Twin\n");
    let report = reg.run(&visitors, &extract, NOW);
    assert_eq!(reg.person_of("visitors", "v-1"), first);
    assert_ne!(reg.person_of("visitors", "v-2"), first);
    assert_eq!(registry(&report, "links")[0]["by"], "external");
    let held = &registry(&report, "ambiguous")[0];
    assert_eq!(held["key"], "v-3");
    assert_eq!(held["candidates"].as_array().unwrap().len(), 2);

    let before = state_dump(&reg.db);
    std::fs::write(&script, "#!/bin/sh\nsleep 10\n").unwrap();
    let retry = reg.csv("v2.csv", "id,name\nv-4,Hedy\n");
    let output = reg.cli(&["run", arg(&visitors), "--input", arg(&retry)], NOW);
    let (code, _, stderr) = parts(&output);
    assert_eq!(code, 1, "{stderr}");
    let words = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("\"v-4\"")
            && words.contains("gave no answer")
            && words.contains("within 2s"),
        "{stderr}"
    );
    assert_eq!(state_dump(&reg.db), before, "nothing applied");
}

/// A matcher that exits without reading its input closes the pipe rollcall
/// is writing the record into. With SIGPIPE fatal, rollcall died silently
/// half way through (seen as a flaky `tests/secrets.rs`); the record here is
/// larger than a pipe's buffer, so the write always meets the closed pipe.
fn a_matcher_that_exits_without_reading_fails_the_run_with_its_status(backend: Backend) {
    let reg = Registry::new(backend);
    let portal = portal(&reg, true);
    reg.run(
        &portal,
        &reg.csv("a.csv", "id,email,employee\np-1,,E1\n"),
        NOW,
    );
    let visitors = external(&reg, "command=\"exit 3\"");
    let long_name = "x".repeat(256 * 1024);
    let extract = reg.csv("v.csv", &format!("id,name\nv-1,{long_name}\n"));
    let before = state_dump(&reg.db);
    let output = reg.cli(&["run", arg(&visitors), "--input", arg(&extract)], NOW);
    let (code, _, stderr) = parts(&output);
    assert_eq!(code, 1, "{output:?}");
    let words = stderr
        .split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        words.contains("on record \"v-1\"") && words.contains("exited with exit status: 3"),
        "{stderr}"
    );
    assert_eq!(state_dump(&reg.db), before, "nothing applied");
}

fn an_external_url_is_posted_the_record_and_answers_the_person(backend: Backend) {
    use std::io::{BufRead, BufReader, Read, Write};
    let reg = Registry::new(backend);
    let portal = portal(&reg, true);
    reg.run(
        &portal,
        &reg.csv("a.csv", "id,email,employee\np-1,,E1\n"),
        NOW,
    );
    let ada = reg.person_of("portal", "p-1");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    // Answers the two records of the extract, then stops.
    let server = std::thread::spawn(move || {
        let mut bodies = Vec::new();
        for _ in 0..2 {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let body = String::from_utf8(body).unwrap();
            let answer = if body.contains("\"Ada\"") {
                ada.to_string()
            } else {
                "none".to_owned()
            };
            let mut stream = reader.into_inner();
            write!(
                stream,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{answer}",
                answer.len()
            )
            .unwrap();
            bodies.push(body);
        }
        bodies
    });
    let visitors = external(&reg, &format!("url=\"http://{address}/match\""));
    let extract = reg.csv("v.csv", "id,name\nv-1,Ada\nv-2,Grace\n");
    reg.run(&visitors, &extract, NOW);
    let bodies = server.join().unwrap();
    let first: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(first["key"], "v-1");
    assert_eq!(first["record"]["name"], "Ada");
    assert_eq!(reg.person_of("visitors", "v-1"), ada);
    assert_ne!(reg.person_of("visitors", "v-2"), ada);
}

fn the_hr_reference_pipeline_links_appointments_by_employee_number(backend: Backend) {
    let reg = Registry::new(backend);
    let pipeline = repo().join("pipelines/hr-appointments.kdl");
    let day1 = repo().join("examples/hr/appointments-2025-03-01.csv");
    let report = reg.run(&pipeline, &day1, "2025-03-01T06:00:00Z");
    assert_eq!(summary(&report, "created"), 8);
    // Charles Babbage's two appointments are one person with two roles.
    let charles = reg.person_of("hr-appointments", "A-1002");
    assert_eq!(reg.person_of("hr-appointments", "A-1003"), charles);
    assert_eq!(reg.person(charles)["roles"].as_array().unwrap().len(), 2);
    assert_eq!(reg.person_count(), 7);
    // Hedy Lamarr's manager E199 is nobody here: reported, not failed.
    let unresolved = registry(&report, "unresolved");
    assert_eq!(unresolved.len(), 1);
    assert_eq!(unresolved[0]["value"], "E199");
    // The original row is kept beside the normalised one.
    let shown = stdout_json(&reg.cli(
        &["show", "hr-appointments", "A-1002", "--format", "json"],
        NOW,
    ));
    assert_eq!(
        shown["record"]["raw"]["job_title"],
        "Research Consultant IV"
    );

    // A week later his Mathematics appointment ended: that role enters its
    // grace period, and he stays active through the other.
    let day2 = repo().join("examples/hr/appointments-2025-03-08.csv");
    let report = reg.run(&pipeline, &day2, "2025-03-08T06:00:00Z");
    assert_eq!(summary(&report, "removed"), 1);
    assert_eq!(summary(&report, "created"), 1);
    let person = reg.person(charles);
    assert_eq!(person["person"]["status"], "active");
    let ended = person["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source_key"] == "A-1003")
        .unwrap();
    assert_eq!(ended["status"], "grace-period");
    assert_eq!(
        person["person"]["attributes"]["telephone"],
        "+44 20 7946 0199"
    );
}

fn the_school_reference_pipelines_run_on_their_sample_exports_in_any_order(backend: Backend) {
    let reg = Registry::new(backend);
    let exports = repo().join("examples/ucs-school");
    let steps = [
        ("gym-mitte", "export-2025-03-03.csv", "2025-03-03T06:00:00Z"),
        ("rs-nord", "export-2025-03-04.csv", "2025-03-04T06:00:00Z"),
        ("gym-mitte", "export-2025-03-10.csv", "2025-03-10T06:00:00Z"),
        ("rs-nord", "export-2025-03-12.csv", "2025-03-12T06:00:00Z"),
    ];
    let mut lukas = None;
    for (name, file, now) in steps {
        reg.run(&school(name), &exports.join(file), now);
        let id = *lukas.get_or_insert_with(|| reg.person_of("ucs-school-gym-mitte", "uid-0006"));
        let person = reg.person(id);
        // Lukas, a pupil of both schools, leaves gym-mitte on the 10th
        // (still active at rs-nord), then rs-nord on the 12th (limbo).
        let expected = match now {
            "2025-03-03T06:00:00Z" => (Value::from("active"), Value::Null, 1),
            "2025-03-10T06:00:00Z" => (Value::from("active"), Value::Null, 1),
            "2025-03-12T06:00:00Z" => (Value::from("suspended"), Value::from("limbo"), 0),
            _ => (Value::from("active"), Value::Null, 2),
        };
        let active_roles = person["roles"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == "active")
            .count();
        assert_eq!(
            (
                person["person"]["status"].clone(),
                person["person"]["limbo"].clone(),
                active_roles
            ),
            expected,
            "{now}: {person:#}"
        );
    }
    let lukas = reg.person(lukas.unwrap());
    assert_eq!(role_for(&lukas, "gym-mitte")["status"], "suspended");
    assert_eq!(role_for(&lukas, "rs-nord")["status"], "suspended");
    // Mia left Gymnasium Mitte on the 10th and joined Realschule Nord on the
    // 12th: in limbo in between, the same person after.
    let mia = reg.person_of("ucs-school-gym-mitte", "uid-0003");
    assert_eq!(reg.person_of("ucs-school-rs-nord", "uid-0003"), mia);
    let person = reg.person(mia);
    assert_eq!(person["person"]["status"], "active");
    assert_eq!(person["person"]["limbo"], Value::Null);
    // Sofia teaches at both.
    let sofia = reg.person(reg.person_of("ucs-school-rs-nord", "uid-0005"));
    assert_eq!(sofia["roles"].as_array().unwrap().len(), 2);
    assert_eq!(reg.person_count(), 9);
}

#[test]
fn the_reference_pipelines_are_in_canonical_layout() {
    let files: Vec<PathBuf> = [
        "hr-appointments",
        "ucs-school-gym-mitte",
        "ucs-school-rs-nord",
    ]
    .iter()
    .map(|name| repo().join(format!("pipelines/{name}.kdl")))
    .collect();
    let mut args = vec!["fmt", "--check"];
    args.extend(files.iter().map(arg));
    let output = support::run(&args);
    assert_eq!(parts(&output).0, 0, "{}", parts(&output).1);
}

// Issue 14: real data.

/// The roles of a person, by their `member` (the value of `each`).
fn role_for(person: &Value, member: &str) -> Value {
    person["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["member"] == member)
        .cloned()
        .unwrap_or_else(|| panic!("no role for {member}: {person:#}"))
}

/// One pipeline for a whole multi-school export: one role per school of
/// the `schools` cell, that school as scope and ou.
fn all_schools(reg: &Registry) -> PathBuf {
    reg.pipeline(
        "schools",
        r#"
    key uid
    map {
        uid uid required=#true
        role role
        schools schools { split "," }
    }
    role {
        each schools kind=school
        affiliation field=role
        ou field=schools
    }
    lifecycle {
        limbo limbo
        purge-after "30d"
    }
    "#,
    )
}

fn a_multi_school_cell_gives_one_role_per_school_and_a_school_leaving_the_cell_ends_that_role_only(
    backend: Backend,
) {
    let reg = Registry::new(backend);
    let pipeline = all_schools(&reg);
    let day1 = reg.csv(
        "s1.csv",
        "uid,role,schools\nu-1,student,\"g123m,g124z\"\nu-2,teacher,g124z\n",
    );
    let report = reg.run(&pipeline, &day1, "2025-03-01T06:00:00Z");
    assert_eq!(summary(&report, "created"), 2);
    let pupil = reg.person_of("schools", "u-1");
    let person = reg.person(pupil);
    assert_eq!(person["roles"].as_array().unwrap().len(), 2, "{person:#}");
    for school in ["g123m", "g124z"] {
        let role = role_for(&person, school);
        assert_eq!(role["scope"], school);
        assert_eq!(role["scope_kind"], "school");
        assert_eq!(role["ou"], school);
        assert_eq!(role["affiliation"], "student");
        assert_eq!(role["status"], "active");
    }

    // The same schools in another order change nothing.
    let reordered = reg.csv(
        "s2.csv",
        "uid,role,schools\nu-1,student,\"g124z,g123m\"\nu-2,teacher,g124z\n",
    );
    let report = reg.run(&pipeline, &reordered, "2025-03-02T06:00:00Z");
    assert_eq!(summary(&report, "transitions"), 0, "{report:#}");

    // g123m drops out of the cell: that school's role alone ends, and the
    // pupil stays active through the other.
    let day3 = reg.csv(
        "s3.csv",
        "uid,role,schools\nu-1,student,g124z\nu-2,teacher,g124z\n",
    );
    let plan = reg.plan(&pipeline, &day3, "2025-03-03T06:00:00Z");
    let ended: Vec<&Value> = registry(&plan, "transitions")
        .iter()
        .filter(|t| !t["role"].is_null())
        .collect();
    assert_eq!(ended.len(), 1, "{plan:#}");
    assert_eq!(ended[0]["role"]["scope"], "g123m");
    assert_eq!(ended[0]["to"], "suspended");
    reg.run(&pipeline, &day3, "2025-03-03T06:00:00Z");
    let person = reg.person(pupil);
    assert_eq!(role_for(&person, "g123m")["status"], "suspended");
    assert_eq!(role_for(&person, "g124z")["status"], "active");
    assert_eq!(person["person"]["status"], "active");
    assert_eq!(person["person"]["limbo"], Value::Null);

    // Then the last school: into limbo. Back in g123m: the same role again.
    let day4 = reg.csv(
        "s4.csv",
        "uid,role,schools\nu-1,student,\nu-2,teacher,g124z\n",
    );
    reg.run(&pipeline, &day4, "2025-03-04T06:00:00Z");
    let person = reg.person(pupil);
    assert_eq!(person["person"]["status"], "suspended");
    assert_eq!(person["person"]["limbo"], "limbo");
    let day5 = reg.csv(
        "s5.csv",
        "uid,role,schools\nu-1,student,g123m\nu-2,teacher,g124z\n",
    );
    reg.run(&pipeline, &day5, "2025-03-05T06:00:00Z");
    let person = reg.person(pupil);
    assert_eq!(person["roles"].as_array().unwrap().len(), 2);
    assert_eq!(role_for(&person, "g123m")["status"], "active");
    assert_eq!(person["person"]["status"], "active");
    assert_eq!(person["person"]["limbo"], Value::Null);
}

fn a_role_field_that_gives_a_list_is_a_validate_error_and_a_run_error_naming_the_record(
    backend: Backend,
) {
    let reg = Registry::new(backend);
    // Known to be a list from its transforms: refused by validate.
    let pipeline = reg.pipeline(
        "split",
        r#"
    key uid
    map {
        uid uid required=#true
        schools schools { split "," }
    }
    role {
        ou field=schools
    }
    "#,
    );
    let output = rollcall()
        .args(["validate", arg(&pipeline)])
        .output()
        .unwrap();
    let (code, _, stderr) = parts(&output);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("rollcall::list-in-role"), "{stderr}");
    assert!(
        stderr.contains("reads `schools`, which gives a list"),
        "{stderr}"
    );

    // A list only the record reveals: the run stops, naming the record.
    let path = reg.path("groups.kdl");
    std::fs::write(
        &path,
        r#"pipeline groups {
    source file "groups-*.jsonl" { format jsonl; }
    key uid
    map {
        uid uid required=#true
        group group
    }
    role {
        title field=group
    }
}
"#,
    )
    .unwrap();
    let extract = reg.csv(
        "groups.jsonl",
        "{\"uid\":\"u-1\",\"group\":\"a\"}\n{\"uid\":\"u-2\",\"group\":[\"a\",\"b\"]}\n",
    );
    let output = reg.cli(&["run", arg(&path), "--input", arg(&extract)], NOW);
    let (code, _, stderr) = parts(&output);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("rollcall::registry::role-value"),
        "{stderr}"
    );
    assert!(
        stderr.contains("record \"u-2\" of pipeline groups: field `group` holds 2 values (a, b)"),
        "{stderr}"
    );
    assert_eq!(reg.person_count(), 0, "nothing applied");
}

/// Staff whose records say their own status, with validity dates.
fn dated_staff(reg: &Registry) -> PathBuf {
    reg.pipeline(
        "dated",
        r#"
    key id
    map {
        id id required=#true
        status status required=#true
        start start
        end end
    }
    role {
        affiliation "staff"
        status field=status {
            active active
            inactive suspended
        }
        valid-from field=start
        valid-until field=end
    }
    lifecycle {
        on-expiry expired
        limbo leavers
    }
    "#,
    )
}

fn status_comes_from_the_record_and_validity_dates_move_roles_at_the_runs_time(backend: Backend) {
    let reg = Registry::new(backend);
    let pipeline = dated_staff(&reg);
    let extract = reg.csv(
        "d1.csv",
        "id,status,start,end\n\
         a,active,2025-02-01,\n\
         b,inactive,,\n\
         c,active,2025-04-01,\n\
         d,active,,2025-03-15\n",
    );
    reg.run(&pipeline, &extract, "2025-03-01T06:00:00Z");
    let status = |key: &str| {
        let person = reg.person(reg.person_of("dated", key));
        (
            role_of(&person, 0)["status"].as_str().unwrap().to_owned(),
            person["person"]["status"].as_str().unwrap().to_owned(),
            person["person"]["limbo"].clone(),
        )
    };
    assert_eq!(status("a"), ("active".into(), "active".into(), Value::Null));
    assert_eq!(
        status("b"),
        ("suspended".into(), "suspended".into(), Value::Null),
        "inactive in the source: suspended, kept out of limbo"
    );
    assert_eq!(
        status("c"),
        ("pending".into(), "pending".into(), Value::Null)
    );
    assert_eq!(status("d"), ("active".into(), "active".into(), Value::Null));

    // The same extract a month later: the dates alone move c and d, and
    // plan shows it like any transition.
    let plan = reg.plan(&pipeline, &extract, "2025-04-02T06:00:00Z");
    let roles: Vec<(String, String, String, String)> = registry(&plan, "transitions")
        .iter()
        .filter(|t| !t["role"].is_null())
        .map(|t| {
            (
                t["role"]["key"].as_str().unwrap().to_owned(),
                t["from"].as_str().unwrap().to_owned(),
                t["to"].as_str().unwrap().to_owned(),
                t["cause"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            (
                "c".into(),
                "pending".into(),
                "active".into(),
                "validity".into()
            ),
            (
                "d".into(),
                "active".into(),
                "expired".into(),
                "validity".into()
            ),
        ],
        "{plan:#}"
    );
    let report = reg.run(&pipeline, &extract, "2025-04-02T06:00:00Z");
    assert_eq!(summary(&report, "updated"), 0, "no record changed");
    assert_eq!(status("c"), ("active".into(), "active".into(), Value::Null));
    assert_eq!(
        status("d"),
        ("expired".into(), "expired".into(), Value::from("leavers"))
    );

    // b's source says active again: reactivated, same person.
    let b = reg.person_of("dated", "b");
    let back = reg.csv(
        "d2.csv",
        "id,status,start,end\na,active,2025-02-01,\nb,active,,\nc,active,2025-04-01,\nd,active,,2025-03-15\n",
    );
    reg.run(&pipeline, &back, "2025-04-03T06:00:00Z");
    assert_eq!(reg.person_of("dated", "b"), b);
    assert_eq!(status("b"), ("active".into(), "active".into(), Value::Null));

    // A status the map does not list stops the run, naming the record.
    let odd = reg.csv("d3.csv", "id,status,start,end\na,retired,,\n");
    let output = reg.cli(&["run", arg(&pipeline), "--input", arg(&odd)], NOW);
    let (code, _, stderr) = parts(&output);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("record \"a\" of pipeline dated: field `status` is \"retired\""),
        "{stderr}"
    );
}

fn an_inactive_record_is_kept_and_suspended_while_absent_ones_and_removals_leave(backend: Backend) {
    let reg = Registry::new(backend);
    let sso = reg.pipeline(
        "sso",
        r#"
    key id
    map {
        id id required=#true
        email email
        status status required=#true
        action action
    }
    identity {
        email sso email verified=#true
    }
    role {
        affiliation "staff"
        status field=status {
            active active
            inactive suspended
        }
    }
    lifecycle {
        on-removal deleted
        limbo leavers
        purge-after "90d"
        remove-when action equals delete
        remove-when status equals deleted
    }
    "#,
    );
    let day1 = reg.csv(
        "sso1.csv",
        "id,email,status,action\n\
         a,a@x.example,active,\nb,b@x.example,active,\nc,c@x.example,active,\n\
         d,d@x.example,active,\ne,e@x.example,active,\n",
    );
    reg.run(&sso, &day1, "2025-03-01T06:00:00Z");
    let b = reg.person_of("sso", "b");
    let day2 = reg.csv(
        "sso2.csv",
        "id,email,status,action\n\
         a,a@x.example,active,\nb,b@x.example,inactive,\n\
         d,d@x.example,active,delete\ne,e@x.example,deleted,\n",
    );
    let report = reg.run(&sso, &day2, "2025-03-02T06:00:00Z");
    assert_eq!(summary(&report, "removed"), 3, "c absent, d and e removals");
    // b: suspended, record present, no limbo and no purge time.
    let person = reg.person(b);
    assert_eq!(person["person"]["status"], "suspended");
    assert_eq!(person["person"]["limbo"], Value::Null);
    assert_eq!(person["person"]["purge_at"], Value::Null);
    let shown = stdout_json(&reg.cli(&["show", "sso", "b", "--format", "json"], NOW));
    assert_eq!(shown["record"]["state"], "present");
    // c, d, e: deleted roles, moved to limbo with a purge time.
    for key in ["c", "d", "e"] {
        let person = reg.person(reg.person_of("sso", key));
        assert_eq!(role_of(&person, 0)["status"], "deleted", "{key}");
        assert_eq!(person["person"]["limbo"], "leavers", "{key}");
        assert!(person["person"]["purge_at"].is_string(), "{key}");
    }
    // b is still matchable: another pipeline's record links to b.
    let portal = reg.pipeline(
        "portal",
        r#"
    key id
    map {
        id id required=#true
        email email
    }
    identity {
        email sso email
    }
    match email sso
    "#,
    );
    let accounts = reg.csv("portal1.csv", "id,email\np-1,B@x.example\n");
    reg.run(&portal, &accounts, "2025-03-02T07:00:00Z");
    assert_eq!(reg.person_of("portal", "p-1"), b);
    // Active again in the source: reactivated.
    let day3 = reg.csv(
        "sso3.csv",
        "id,email,status,action\na,a@x.example,active,\nb,b@x.example,active,\n",
    );
    reg.run_with(&sso, &day3, "2025-03-03T06:00:00Z", &["--accept-breach"]);
    let person = reg.person(b);
    assert_eq!(person["person"]["status"], "active");
    assert_eq!(role_of(&person, 0)["status"], "active");
}

fn an_external_command_matcher_runs_when_the_pipeline_is_named_by_a_bare_file_name(
    backend: Backend,
) {
    let reg = Registry::new(backend);
    std::fs::write(
        reg.path("match.sh"),
        "#!/bin/sh\ncat >/dev/null\necho none\n",
    )
    .unwrap();
    external(&reg, "command=\"sh ./match.sh\"");
    reg.csv("v.csv", "id,name\nv-1,Ada\n");
    // `rollcall plan visitors.kdl` from the pipeline's own folder.
    let output = rollcall()
        .current_dir(reg.dir.path())
        .args([
            "plan",
            "visitors.kdl",
            "--input",
            "v.csv",
            "--format",
            "json",
        ])
        .args(["--state", arg(&reg.db)])
        .env("ROLLCALL_NOW", NOW)
        .output()
        .unwrap();
    let (code, _, stderr) = parts(&output);
    assert_eq!(code, 0, "{stderr}");
    let plan = checked(stdout_json(&output));
    assert_eq!(summary(&plan, "created"), 1, "{plan:#}");
}

fn an_invalid_row_whose_key_cannot_be_read_holds_every_removal_of_the_run_and_says_so(
    backend: Backend,
) {
    let reg = Registry::new(backend);
    let pipeline = reg.pipeline(
        "people",
        r#"
    key id
    map {
        id id required=#true
        name name
    }
    "#,
    );
    let day1 = reg.csv("p1.csv", "id,name\na,Ada\nb,Alan\nc,Grace\n");
    reg.run(&pipeline, &day1, NOW);
    // b's row lost its key: b might be that row, so nobody is removed.
    let day2 = reg.csv("p2.csv", "id,name\na,Ada\n,Alan\nc,Grace\n");
    let report = reg.run(&pipeline, &day2, "2025-03-02T08:00:00Z");
    assert_eq!(summary(&report, "removed"), 0, "{report:#}");
    assert_eq!(summary(&report, "held"), 1);
    let invalid = report["invalid"].as_array().unwrap();
    assert_eq!(invalid.len(), 1);
    let problems = invalid[0]["problems"].to_string();
    assert!(
        problems.contains("the run removes no one (1 absent key held)"),
        "{problems}"
    );
    let b = reg.person(reg.person_of("people", "b"));
    assert_eq!(b["person"]["status"], "active");
    // With every key readable, the leaver is removed as usual.
    let day3 = reg.csv("p3.csv", "id,name\na,Ada\nc,Grace\n");
    let report = reg.run(&pipeline, &day3, "2025-03-03T08:00:00Z");
    assert_eq!(summary(&report, "removed"), 1);
}

fn the_staff_sso_reference_pipeline_suspends_inactive_users_and_keeps_their_records(
    backend: Backend,
) {
    let reg = Registry::new(backend);
    let pipeline = repo().join("pipelines/staff-sso.kdl");
    let day1 = repo().join("examples/staff-sso/day-1.jsonl");
    let day2 = repo().join("examples/staff-sso/day-2.jsonl");
    reg.run(&pipeline, &day1, "2024-09-04T06:00:00Z");
    // Active on day 1, inactive on day 2.
    let key = "30c2a42c-cbb8-48b8-8369-d65f318f462a";
    let person = reg.person_of("staff-sso", key);
    assert_eq!(reg.person(person)["person"]["status"], "active");
    let report = reg.run(&pipeline, &day2, "2024-09-04T18:00:00Z");
    let moved = registry(&report, "transitions")
        .iter()
        .find(|t| t["person"] == person && t["role"].is_null())
        .cloned()
        .unwrap();
    assert_eq!(moved["to"], "suspended");
    assert_eq!(moved["cause"], "status");
    let shown = reg.person(person);
    assert_eq!(shown["person"]["status"], "suspended");
    assert_eq!(shown["person"]["limbo"], Value::Null);
    let record = stdout_json(&reg.cli(&["show", "staff-sso", key, "--format", "json"], NOW));
    assert_eq!(record["record"]["state"], "present");
}

fn unique_keeps_first_occurrences_and_default_fills_an_empty_cell_as_required_sees_it(
    backend: Backend,
) {
    let reg = Registry::new(backend);
    let pipeline = reg.pipeline(
        "lists",
        r#"
    key id
    map {
        id id required=#true
        department department default="unassigned"
        emails emails {
            split ";"
            trim
            lowercase
            unique
        }
    }
    "#,
    );
    let extract = reg.csv(
        "l.csv",
        "id,department,emails\nk-1,,B@x.example; a@x.example;b@x.example\nk-2,Physics,\n",
    );
    reg.run(&pipeline, &extract, NOW);
    let shown = stdout_json(&reg.cli(&["show", "lists", "k-1", "--format", "json"], NOW));
    let fields = &shown["record"]["fields"];
    assert_eq!(fields["department"], "unassigned", "{shown:#}");
    assert_eq!(
        fields["emails"],
        serde_json::json!(["b@x.example", "a@x.example"])
    );
    let shown = stdout_json(&reg.cli(&["show", "lists", "k-2", "--format", "json"], NOW));
    assert_eq!(shown["record"]["fields"]["department"], "Physics");
}

fn ragged_rows_pads_a_short_legacy_row_and_refuses_a_long_one_at_its_line(backend: Backend) {
    let reg = Registry::new(backend);
    let pipeline = reg.path("legacy.kdl");
    std::fs::write(
        &pipeline,
        r#"pipeline legacy {
    source file "legacy-*.csv" {
        format csv delimiter=";" header=#false ragged-rows=#true
        columns action uid name class
    }
    key uid
    map {
        uid uid required=#true
        name name
        class class default="none"
    }
}
"#,
    )
    .unwrap();
    // The legacy export drops trailing empty cells: B's row has no class.
    let short = reg.csv("legacy-1.csv", "A;u-1;Ada;5a\nA;u-2;Alan\n");
    let report = reg.run(&pipeline, &short, NOW);
    assert_eq!(summary(&report, "created"), 2, "{report:#}");
    let shown = stdout_json(&reg.cli(&["show", "legacy", "u-2", "--format", "json"], NOW));
    assert_eq!(shown["record"]["fields"]["class"], "none", "{shown:#}");
    assert_eq!(shown["record"]["fields"]["name"], "Alan");

    // One field too many on line 2: refused, located, nothing changes.
    let long = reg.csv("legacy-2.csv", "A;u-1;Ada;5a\nA;u-3;Grace;5b;extra\n");
    let output = reg.cli(&["run", arg(&pipeline), "--input", arg(&long)], NOW);
    let (code, _, stderr) = parts(&output);
    let stderr = one_line(&stderr);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("legacy-2.csv:2: row has 5 fields but there are only 4 columns"),
        "{stderr}"
    );
    assert!(stderr.contains("rollcall::source::long-row"), "{stderr}");
    assert_eq!(reg.person_count(), 2);

    // Without the option the short row is refused as before.
    let strict = std::fs::read_to_string(&pipeline)
        .unwrap()
        .replace(" ragged-rows=#true", "");
    std::fs::write(&pipeline, strict).unwrap();
    let output = reg.cli(&["plan", arg(&pipeline), "--input", arg(&short)], NOW);
    let (code, _, stderr) = parts(&output);
    let stderr = one_line(&stderr);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("legacy-1.csv:2: row has 3 fields but there are 4 columns"),
        "{stderr}"
    );
}

fn a_person_without_roles_follows_its_records_lifecycle_into_limbo_purge_and_back(
    backend: Backend,
) {
    let reg = Registry::new(backend);
    let pipeline = reg.pipeline(
        "guests",
        r#"
    key id
    map {
        id id required=#true
        name name
        schools schools { split "," }
    }
    role {
        each schools kind=school
    }
    lifecycle {
        on-removal expired
        limbo former-guests
        purge-after "10d"
    }
    "#,
    );
    // Guests of no school: the role declaration gives them no role at all.
    let day1 = reg.csv("g1.csv", "id,name,schools\na,Ada,\nb,Alan,\nc,Grace,\n");
    reg.run(&pipeline, &day1, "2025-03-01T08:00:00Z");
    let alan = reg.person_of("guests", "b");
    let grace = reg.person_of("guests", "c");
    // b and c leave: their persons take the removal status, limbo, a purge time.
    let day2 = reg.csv("g2.csv", "id,name,schools\na,Ada,\n");
    let plan = reg.plan(&pipeline, &day2, "2025-03-02T08:00:00Z");
    let moved: Vec<&Value> = registry(&plan, "transitions")
        .iter()
        .filter(|t| t["person"] == alan)
        .collect();
    assert_eq!(moved.len(), 1, "{plan:#}");
    assert!(moved[0]["role"].is_null());
    assert_eq!(moved[0]["to"], "expired");
    assert_eq!(moved[0]["cause"], "removed");
    reg.run(&pipeline, &day2, "2025-03-02T08:00:00Z");
    let shown = reg.person(alan);
    assert_eq!(shown["person"]["status"], "expired", "{shown:#}");
    assert_eq!(shown["person"]["limbo"], "former-guests");
    assert_eq!(
        reg.person(reg.person_of("guests", "a"))["person"]["status"],
        "active"
    );
    // c comes back before the purge: the same person, active, out of limbo.
    let day3 = reg.csv("g3.csv", "id,name,schools\na,Ada,\nc,Grace,\n");
    reg.run(&pipeline, &day3, "2025-03-05T08:00:00Z");
    assert_eq!(reg.person_of("guests", "c"), grace);
    let shown = reg.person(grace);
    assert_eq!(shown["person"]["status"], "active", "{shown:#}");
    assert_eq!(shown["person"]["limbo"], Value::Null);
    // Past b's purge time the next run purges b.
    let report = reg.run(&pipeline, &day3, "2025-03-13T08:00:00Z");
    assert_eq!(summary(&report, "purged"), 1, "{report:#}");
    assert_eq!(reg.person_count(), 2);
}

fn purge_dry_run_plan_and_run_agree_that_an_overdue_purge_comes_before_a_returning_record(
    backend: Backend,
) {
    let reg = Registry::new(backend);
    let pipeline = reg.pipeline(
        "members",
        r#"
    key id
    map {
        id id required=#true
        name name
    }
    lifecycle {
        limbo former
        purge-after "10d"
    }
    "#,
    );
    let day1 = reg.csv("m1.csv", "id,name\na,Ada\nb,Alan\n");
    reg.run(&pipeline, &day1, "2025-03-01T08:00:00Z");
    let alan = reg.person_of("members", "b");
    let day2 = reg.csv("m2.csv", "id,name\na,Ada\n");
    reg.run(&pipeline, &day2, "2025-03-02T08:00:00Z");
    // b's purge time (03-12) has passed when b comes back on 03-13.
    let now = "2025-03-13T08:00:00Z";
    let back = reg.csv("m3.csv", "id,name\na,Ada\nb,Alan\n");
    let dry = stdout_json(&reg.cli(&["purge", "--dry-run", "--format", "json"], now));
    assert_eq!(dry["purged"], 1, "{dry:#}");
    assert_eq!(dry["registry"]["purged"][0]["person"], alan);
    let plan = reg.plan(&pipeline, &back, now);
    assert_eq!(summary(&plan, "purged"), 1, "{plan:#}");
    assert_eq!(registry(&plan, "purged")[0]["person"], alan);
    // The purge went first: b is a new key, for someone new.
    assert_eq!(summary(&plan, "created"), 1, "{plan:#}");
    let report = reg.run(&pipeline, &back, now);
    assert_eq!(summary(&report, "purged"), 1, "{report:#}");
    assert_eq!(summary(&report, "created"), 1);
    let newcomer = reg.person_of("members", "b");
    assert_ne!(newcomer, alan);
    assert_eq!(reg.person(newcomer)["person"]["status"], "active");
    let (code, _, _) = parts(&reg.cli(&["person", &alan.to_string()], now));
    assert_eq!(code, 1);
}

fn identity_emails_and_identifiers_keep_the_sources_order_the_first_being_the_primary(
    backend: Backend,
) {
    let reg = Registry::new(backend);
    let pipeline = reg.pipeline(
        "mail",
        r#"
    key id
    map {
        id id required=#true
        emails emails {
            split ";"
            trim
        }
        numbers numbers {
            split ";"
            trim
        }
    }
    identity {
        email official emails verified=#true
        identifier staff-number numbers
    }
    "#,
    );
    let day1 = reg.csv(
        "e1.csv",
        "id,emails,numbers\nk-1,zoe@x.example; ann@x.example; zoe@x.example,9; 1\n",
    );
    reg.run(&pipeline, &day1, NOW);
    let person = reg.person(reg.person_of("mail", "k-1"));
    let emails = identities_of(&person, "email");
    assert_eq!(emails, ["zoe@x.example", "ann@x.example"], "{person:#}");
    let numbers = identities_of(&person, "identifier");
    assert_eq!(numbers, ["9", "1"], "{person:#}");
    // The source swaps them: the new first is the primary.
    let day2 = reg.csv(
        "e2.csv",
        "id,emails,numbers\nk-1,ann@x.example;zoe@x.example,9;1\n",
    );
    reg.run(&pipeline, &day2, "2025-03-02T08:00:00Z");
    let person = reg.person(reg.person_of("mail", "k-1"));
    assert_eq!(
        identities_of(&person, "email"),
        ["ann@x.example", "zoe@x.example"],
        "{person:#}"
    );
}

/// The console's message with its wrapping (and the frame miette draws) undone.
fn one_line(text: &str) -> String {
    text.split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ")
}

/// A person's identity values of one kind, in the order shown.
fn identities_of<'p>(person: &'p Value, kind: &str) -> Vec<&'p str> {
    person["identities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == kind)
        .map(|i| i["value"].as_str().unwrap())
        .collect()
}

fn a_value_a_record_no_longer_gives_stops_matching_but_other_records_values_stay(backend: Backend) {
    let reg = Registry::new(backend);
    let lists = |name: &str, match_by: &str| {
        reg.pipeline(
            name,
            &format!(
                r#"
    key id
    map {{
        id id required=#true
        emails emails {{
            split ";"
            trim
        }}
        numbers numbers {{
            split ";"
            trim
        }}
    }}
    identity {{
        email official emails verified=#true
        identifier staff-number numbers
    }}
    {match_by}
    "#
            ),
        )
    };
    let mail = lists("mail", "");
    let desk = lists("desk", "match identifier staff-number");
    let header = "id,emails,numbers\n";
    let day1 = reg.csv(
        "m1.csv",
        &format!("{header}k-1,a@x.example;b@x.example,9;1\n"),
    );
    reg.run(&mail, &day1, NOW);
    let person = reg.person_of("mail", "k-1");
    // desk's record is the same person (staff number 9) and gives a@ and 9 too.
    let desk1 = reg.csv("d1.csv", &format!("{header}d-1,a@x.example,9\n"));
    reg.run(&desk, &desk1, NOW);
    assert_eq!(reg.person_of("desk", "d-1"), person);

    // mail's record now gives c@ and 1 only: b@ (its own alone) and its
    // a@ and 9 are no longer its; desk's a@ and 9 are untouched.
    let day2 = reg.csv("m2.csv", &format!("{header}k-1,c@x.example,1\n"));
    reg.run(&mail, &day2, "2025-03-02T08:00:00Z");
    let shown = reg.person(person);
    let nines: Vec<bool> = shown["identities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["value"] == "9")
        .map(|i| i["usable"].as_bool().unwrap())
        .collect();
    assert_eq!(
        nines,
        [false, true],
        "mail's 9 inactive, desk's kept: {shown:#}"
    );
    let emails = identities_of(&shown, "email");
    assert_eq!(emails, ["a@x.example", "c@x.example"], "{shown:#}");
    let probe_email = lists("probe-email", "match email official");
    let probe_number = lists("probe-number", "match identifier staff-number");
    let probes = reg.csv(
        "p.csv",
        &format!("{header}p-b,b@x.example,\np-a,a@x.example,\np-c,c@x.example,\n"),
    );
    reg.run(&probe_email, &probes, "2025-03-03T08:00:00Z");
    assert_ne!(
        reg.person_of("probe-email", "p-b"),
        person,
        "b@ is no longer given by anyone: it must not match"
    );
    assert_eq!(
        reg.person_of("probe-email", "p-a"),
        person,
        "desk still gives a@"
    );
    assert_eq!(reg.person_of("probe-email", "p-c"), person);
    let numbers = reg.csv("n.csv", &format!("{header}n-9,,9\nn-1,,1\n"));
    reg.run(&probe_number, &numbers, "2025-03-03T08:00:00Z");
    assert_eq!(
        reg.person_of("probe-number", "n-9"),
        person,
        "desk still gives 9"
    );
    assert_eq!(reg.person_of("probe-number", "n-1"), person);
}

/// The read-only views a consuming application reads with plain SQL:
/// a person's whole attributes (also where the store keeps them only in
/// the record that created them), roles and identifiers with the record
/// that gave them, the same on both backends.
fn the_registry_views_give_persons_roles_and_identifiers_to_plain_sql(backend: Backend) {
    let reg = Registry::new(backend);
    let pipeline = reg.pipeline(
        "people",
        r#"
    key id
    map {
        id id required=#true
        name name
        email email
        employee employee
        job_title job_title
    }
    identity {
        email official email verified=#true
        identifier employee-number employee
    }
    role {
        affiliation "staff"
        title field=job_title
    }
    "#,
    );
    let extract = reg.csv(
        "people-1.csv",
        "id,name,email,employee,job_title\np-1,Ada,ada@uni.example,E100,Lecturer\np-2,Alan,alan@uni.example,E200,Reader\n",
    );
    reg.run(&pipeline, &extract, NOW);
    let ada = reg.person_of("people", "p-1");

    let persons = reg.db.rows(&format!(
        "SELECT status, attributes FROM registry_persons WHERE person_id = {ada}"
    ));
    assert_eq!(persons.len(), 1, "{persons:?}");
    assert_eq!(persons[0][0], "active");
    let attributes: Value = serde_json::from_str(&persons[0][1]).unwrap();
    assert_eq!(
        attributes,
        reg.person(ada)["person"]["attributes"],
        "whole, as `person` shows them"
    );
    assert_eq!(attributes["name"], "Ada");

    let roles = reg.db.rows(&format!(
        "SELECT pipeline, source_key, affiliation, title, status FROM registry_roles
          WHERE person_id = {ada}"
    ));
    assert_eq!(
        roles,
        vec![vec!["people", "p-1", "staff", "Lecturer", "active"]]
    );

    let identifiers = reg.db.rows(&format!(
        "SELECT kind, type, value, pipeline, source_key FROM registry_identifiers
          WHERE person_id = {ada} ORDER BY kind"
    ));
    assert_eq!(
        identifiers,
        vec![
            vec!["email", "official", "ada@uni.example", "people", "p-1"],
            vec!["identifier", "employee-number", "E100", "people", "p-1"],
        ]
    );
    assert_eq!(reg.db.count("SELECT count(*) FROM registry_persons"), 2);
}

backends!(
    the_registry_views_give_persons_roles_and_identifiers_to_plain_sql,
    a_user_in_two_schools_stays_active_until_the_last_school_removes_them_and_comes_back_from_limbo,
    a_multi_school_cell_gives_one_role_per_school_and_a_school_leaving_the_cell_ends_that_role_only,
    a_person_is_matched_by_an_email_that_differs_only_in_case,
    an_unverified_email_never_matches,
    two_persons_sharing_an_email_hold_the_record_as_ambiguous_and_nothing_changes,
    identifiers_match_case_sensitively_and_only_while_active,
    a_suspended_person_is_matched_and_reinstated,
    a_frozen_title_survives_a_resync_and_does_not_freeze_the_telephone,
    a_person_attribute_freeze_holds_until_its_date_and_a_whole_role_freeze_keeps_its_status,
    freezing_an_unknown_attribute_or_a_stranger_role_is_refused_and_changes_nothing,
    several_roles_come_from_one_record_with_fixed_and_record_values,
    a_manager_identifier_that_resolves_is_linked_and_one_that_does_not_is_reported,
    a_user_moved_from_school_a_to_school_b_is_the_same_person_linked_by_the_system,
    a_user_left_in_limbo_past_the_grace_period_is_purged_and_it_is_in_the_change_log,
    a_run_purges_its_own_systems_persons_when_their_time_has_come,
    a_removed_role_waits_out_its_grace_period_before_it_is_suspended,
    plan_writes_nothing_and_reports_what_run_then_does,
    an_external_command_matches_records_and_a_silent_one_fails_the_run_cleanly,
    a_matcher_that_exits_without_reading_fails_the_run_with_its_status,
    an_external_url_is_posted_the_record_and_answers_the_person,
    the_hr_reference_pipeline_links_appointments_by_employee_number,
    the_school_reference_pipelines_run_on_their_sample_exports_in_any_order,
    a_role_field_that_gives_a_list_is_a_validate_error_and_a_run_error_naming_the_record,
    status_comes_from_the_record_and_validity_dates_move_roles_at_the_runs_time,
    an_inactive_record_is_kept_and_suspended_while_absent_ones_and_removals_leave,
    an_external_command_matcher_runs_when_the_pipeline_is_named_by_a_bare_file_name,
    an_invalid_row_whose_key_cannot_be_read_holds_every_removal_of_the_run_and_says_so,
    the_staff_sso_reference_pipeline_suspends_inactive_users_and_keeps_their_records,
    unique_keeps_first_occurrences_and_default_fills_an_empty_cell_as_required_sees_it,
    ragged_rows_pads_a_short_legacy_row_and_refuses_a_long_one_at_its_line,
    a_person_without_roles_follows_its_records_lifecycle_into_limbo_purge_and_back,
    purge_dry_run_plan_and_run_agree_that_an_overdue_purge_comes_before_a_returning_record,
    identity_emails_and_identifiers_keep_the_sources_order_the_first_being_the_primary,
    a_value_a_record_no_longer_gives_stops_matching_but_other_records_values_stay,
);
