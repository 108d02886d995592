//! The `ldap` target (issue 19) end to end against a real OpenLDAP slapd on
//! loopback (the testkit's, one organizational unit per test): a school
//! pipeline in the style of UCS@school (one OU per school, classes as
//! groups, a limbo OU). Every scenario counts the writes the server itself
//! recorded (its accesslog): a school move is one modrdn, an unchanged
//! extract sends nothing, a foreign entry is never written.

mod support;

use std::path::PathBuf;
use std::process::Output;

use rollcall_testkit::slapd::{self, ACCOUNT_PASSWORD, Area};
use support::{arg, parts, rollcall};

/// A test's folder (pipeline, extract, store) and its part of the directory.
struct Case {
    dir: tempfile::TempDir,
    area: Area,
}

impl Case {
    fn new() -> Case {
        let area = slapd::server().area();
        for ou in ["gym-mitte", "rs-nord", "limbo", "groups"] {
            area.ou(ou);
        }
        let dir = tempfile::tempdir().unwrap();
        let case = Case { dir, area };
        std::fs::write(case.path("pupils.kdl"), case.pipeline()).unwrap();
        case
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn pipeline(&self) -> String {
        let base = &self.area.base;
        format!(
            r#"pipeline pupils {{
    system school
    source file "pupils.csv" {{ format csv; }}
    key uid
    map {{
        uid uid required=#true
        first first
        last last
        school school required=#true
        class class
    }}
    identity {{
        identifier record-uid uid
    }}
    role {{
        each school kind=school
        affiliation "student"
        title field=class
    }}
    lifecycle {{
        on-removal suspended
        limbo limbo
        purge-after "30d"
    }}
    target ldap directory {{
        url "{url}"
        bind-dn "{bind}"
        password (env)"LDAP_PASSWORD"
        base "{base}"
        person-dn "uid={{uid}},ou={{scope}},{base}"
        limbo-dn "ou=limbo,{base}"
        object-class inetOrgPerson
        attribute cn field=first
        attribute sn field=last
        deactivate {{ set description "deactivated" }}
        groups-from-roles dn="cn={{title}},ou=groups,{base}" member-attribute=member
        delete-after-purge #true
    }}
}}
"#,
            url = slapd::server().url(),
            bind = self.area.bind_dn,
        )
    }

    /// Writes the extract: one pupil per `(uid, school, class)`.
    fn extract(&self, pupils: &[(&str, &str, &str)]) {
        let mut text = String::from("uid,first,last,school,class\n");
        for (uid, school, class) in pupils {
            text.push_str(&format!(
                "{uid},{},Pupil,{school},{class}\n",
                uid.to_uppercase()
            ));
        }
        std::fs::write(self.path("pupils.csv"), text).unwrap();
    }

    fn rollcall(&self, command: &str, now: &str, extra: &[&str]) -> Output {
        let pipeline = self.path("pupils.kdl");
        let state = self.path("state.db");
        rollcall()
            .args([command, arg(&pipeline), "--state", arg(&state)])
            .args(extra)
            .env("ROLLCALL_NOW", now)
            .env("LDAP_PASSWORD", ACCOUNT_PASSWORD)
            .output()
            .expect("rollcall runs")
    }

    /// Runs `command`, asserts exit 0, and returns stdout.
    fn ok(&self, command: &str, now: &str, extra: &[&str]) -> String {
        let output = self.rollcall(command, now, extra);
        let (code, out, err) = parts(&output);
        assert_eq!(
            code, 0,
            "{command}: exit {code}\nstdout:\n{out}\nstderr:\n{err}"
        );
        out
    }

    /// The writes the server recorded since the last call, as `OP RDN-PATH`
    /// (the DN without the test's base, lower case).
    fn writes_since(&self, seen: &mut usize) -> Vec<String> {
        let all = self.area.operations();
        let suffix = format!(",{}", self.area.base.to_ascii_lowercase());
        let new = all[*seen..]
            .iter()
            .map(|(op, dn)| {
                let dn = dn.to_ascii_lowercase();
                format!("{op} {}", dn.strip_suffix(&suffix).unwrap_or(&dn))
            })
            .collect();
        *seen = all.len();
        // For the record (`cargo test --test ldap_target -- --nocapture`).
        println!("server recorded: {new:?}");
        new
    }

    fn dn(&self, rdn: &str) -> String {
        format!("{rdn},{}", self.area.base)
    }

    fn members(&self, class: &str) -> Vec<String> {
        let entry = self.area.entry(&self.dn(&format!("cn={class},ou=groups")));
        let mut members: Vec<String> = entry
            .and_then(|e| e.get("member").cloned())
            .unwrap_or_default()
            .into_iter()
            .map(|m| m.split(',').next().unwrap_or_default().to_owned())
            .filter(|rdn| rdn.starts_with("uid="))
            .collect();
        members.sort();
        members
    }
}

#[test]
fn join_school_move_limbo_return_and_purge_write_only_what_changed() {
    let case = Case::new();
    let mut seen = 0;

    // Join: two pupils of gym-mitte, one class each.
    case.extract(&[("p1", "gym-mitte", "5a"), ("p2", "gym-mitte", "5b")]);
    case.ok("run", "2025-03-01", &[]);
    let mut joined = case.writes_since(&mut seen);
    joined.sort();
    assert_eq!(
        joined,
        [
            "add cn=5a,ou=groups",
            "add cn=5b,ou=groups",
            "add uid=p1,ou=gym-mitte",
            "add uid=p2,ou=gym-mitte",
        ]
    );
    let p1 = case
        .area
        .entry(&case.dn("uid=p1,ou=gym-mitte"))
        .expect("p1 created");
    assert_eq!(p1["cn"], ["P1"]);
    assert_eq!(case.members("5a"), ["uid=p1"]);

    // The same extract again: the server records no write at all.
    case.ok("run", "2025-03-02", &["--force"]);
    assert_eq!(
        case.writes_since(&mut seen),
        Vec::<String>::new(),
        "unchanged"
    );

    // p1 moves to rs-nord: one modrdn, the same entry (entryUUID kept).
    case.extract(&[("p1", "rs-nord", "5a"), ("p2", "gym-mitte", "5b")]);
    // Applied with --skip-upload: `plan` shows the pending rename against
    // the directory as it is, and neither sends anything; `deliver` does.
    case.ok("run", "2025-03-03", &["--skip-upload"]);
    let planned = case.ok("plan", "2025-03-03", &[]);
    assert!(planned.contains("rename person"), "{planned}");
    assert_eq!(
        case.writes_since(&mut seen),
        Vec::<String>::new(),
        "--skip-upload and plan write nothing"
    );
    case.ok("deliver", "2025-03-03", &[]);
    let moved = case.writes_since(&mut seen);
    assert!(
        moved.iter().filter(|w| w.starts_with("modrdn")).count() == 1
            && moved
                .iter()
                .all(|w| !w.starts_with("add") && !w.starts_with("delete")),
        "a move is a rename, never delete and add: {moved:?}"
    );
    let p1_moved = case
        .area
        .entry(&case.dn("uid=p1,ou=rs-nord"))
        .expect("p1 under rs-nord");
    assert_eq!(p1_moved["entryUUID"], p1["entryUUID"], "the same entry");
    assert!(case.area.entry(&case.dn("uid=p1,ou=gym-mitte")).is_none());
    // The class lists the member under the new DN (the server keeps no
    // reference up to date on its own).
    let class = case
        .area
        .entry(&case.dn("cn=5a,ou=groups"))
        .expect("class 5a");
    assert_eq!(
        class["member"]
            .iter()
            .map(|m| m.to_ascii_lowercase())
            .filter(|m| m.starts_with("uid="))
            .collect::<Vec<_>>(),
        [case.dn("uid=p1,ou=rs-nord").to_ascii_lowercase()]
    );

    // p2 leaves: deactivated and moved to the limbo OU, out of the class.
    case.extract(&[("p1", "rs-nord", "5a")]);
    case.ok("run", "2025-03-04", &[]);
    let left = case.writes_since(&mut seen);
    assert!(
        left.contains(&"modrdn uid=p2,ou=gym-mitte".to_owned()),
        "{left:?}"
    );
    // No account is deleted; the class no one is in any more is (the
    // target declares delete-after-purge, which also removes empty groups).
    assert!(
        left.iter().all(|w| !w.starts_with("delete uid=")),
        "{left:?}"
    );
    assert!(
        left.contains(&"delete cn=5b,ou=groups".to_owned()),
        "{left:?}"
    );
    let p2 = case
        .area
        .entry(&case.dn("uid=p2,ou=limbo"))
        .expect("p2 in limbo");
    assert_eq!(p2["description"], ["deactivated"]);
    assert_eq!(case.members("5b"), Vec::<String>::new());

    // p2 returns: back to gym-mitte, no longer deactivated, in the class.
    case.extract(&[("p1", "rs-nord", "5a"), ("p2", "gym-mitte", "5b")]);
    case.ok("run", "2025-03-05", &[]);
    let back = case.writes_since(&mut seen);
    assert!(
        back.contains(&"modrdn uid=p2,ou=limbo".to_owned()),
        "{back:?}"
    );
    let p2 = case
        .area
        .entry(&case.dn("uid=p2,ou=gym-mitte"))
        .expect("p2 back in gym-mitte");
    assert!(!p2.contains_key("description"), "{p2:?}");
    assert_eq!(case.members("5b"), ["uid=p2"]);

    // p2 leaves again and is purged 30 days later: the entry is deleted.
    case.extract(&[("p1", "rs-nord", "5a")]);
    case.ok("run", "2025-03-06", &[]);
    case.writes_since(&mut seen);
    case.ok("run", "2025-04-10", &["--force"]);
    let purged = case.writes_since(&mut seen);
    assert!(
        purged.contains(&"delete uid=p2,ou=limbo".to_owned()),
        "{purged:?}"
    );
    assert!(case.area.entry(&case.dn("uid=p2,ou=limbo")).is_none());
    assert!(case.area.entry(&case.dn("uid=p1,ou=rs-nord")).is_some());
}

#[test]
fn a_foreign_entry_is_never_written_and_plan_lists_it() {
    let case = Case::new();
    let foreign = case.dn("uid=mallory,ou=gym-mitte");
    case.area.seed(
        &foreign,
        &[
            ("objectClass", &["inetOrgPerson"]),
            ("uid", &["mallory"]),
            ("cn", &["Mallory"]),
            ("sn", &["Foreign"]),
        ],
    );
    let mut seen = 0;
    case.extract(&[("p1", "gym-mitte", "5a"), ("p2", "gym-mitte", "5a")]);
    case.ok("run", "2025-03-01", &[]);
    case.extract(&[("p1", "gym-mitte", "5a")]);
    case.ok("run", "2025-03-02", &[]);
    case.ok("run", "2025-04-10", &["--force"]);
    let writes = case.writes_since(&mut seen);
    assert!(writes.iter().all(|w| !w.contains("mallory")), "{writes:?}");
    assert_eq!(
        case.area.entry(&foreign).expect("mallory kept")["cn"],
        ["Mallory"]
    );
    let planned = case.ok("plan", "2025-04-11", &[]);
    assert!(planned.contains("foreign person"), "{planned}");
    assert!(planned.contains("mallory"), "{planned}");
}
