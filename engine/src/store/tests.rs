//! The store's interface, tested on every backend: each test below runs
//! once on a SQLite file and once on a fresh PostgreSQL database (the
//! testkit's cluster on loopback), as `store::tests::NAME::sqlite` and
//! `store::tests::NAME::postgres`.

use serde_json::{Map, Value, json};

use super::*;
use crate::vocabulary::Check;

/// A store location of each kind, kept alive with what backs it.
pub(crate) enum Backing {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Backing {
    /// A fresh, empty store location of this kind.
    pub(crate) fn sqlite() -> Backing {
        Backing::Sqlite(tempfile::tempdir().unwrap())
    }

    /// A fresh PostgreSQL database.
    pub(crate) fn postgres() -> Backing {
        Backing::Postgres(rollcall_testkit::postgres::server().fresh_database())
    }

    /// Where it is.
    pub(crate) fn location(&self) -> StoreLocation {
        match self {
            Backing::Sqlite(dir) => StoreLocation::File(dir.path().join("state.db")),
            Backing::Postgres(url) => url.parse().unwrap(),
        }
    }

    /// A new connection to it, opened for writing.
    pub(crate) fn open(&self) -> Store {
        Store::open(&self.location()).unwrap()
    }
}

/// Runs `$body` (a `fn(&Backing)`) on each backend, as two tests.
macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[test]
            fn sqlite() {
                let body: fn(&Backing) = $body;
                body(&Backing::sqlite());
            }

            #[test]
            fn postgres() {
                let body: fn(&Backing) = $body;
                body(&Backing::postgres());
            }
        }
    };
}

const CLAIM: Claim<'static> = Claim::Run {
    pipeline: "p",
    system: "s",
};

fn run_row(pipeline: &str, outcome: &str) -> RunRow {
    RunRow {
        id: 0,
        pipeline: pipeline.into(),
        started_at: "2025-01-01T00:00:00.000Z".into(),
        finished_at: "2025-01-01T00:00:01.000Z".into(),
        outcome: outcome.into(),
        overridden: false,
        forced: false,
        source: Default::default(),
        summary: Default::default(),
        error: None,
        checks: Vec::new(),
        delivered_at: None,
    }
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn record<'a>(key: &'a str, fields: &'a str, fingerprint: u128) -> NewRecord<'a> {
    NewRecord {
        key,
        fingerprint,
        fields,
        raw: None,
    }
}

on_both!(
    a_run_writes_records_persons_and_reads_them_back,
    |backing| {
        let mut store = backing.open();
        let tx = store.write(&CLAIM).unwrap();
        let run = tx.insert_run(&run_row("p", "failed")).unwrap();
        let fields = r#"{"name":"Ada","dept":"IT"}"#;
        let person = tx
            .insert_person(&object(json!({"name": "Ada", "dept": "IT"})), run)
            .unwrap();
        tx.insert_record("p", "s", person, run, &record("k1", fields, u128::MAX - 7))
            .unwrap();
        tx.insert_record("p", "s", person, run, &record("k0", "{}", 3))
            .unwrap();
        tx.commit().unwrap();

        let mut store = backing.open();
        let tx = store.read().unwrap();
        let mut prior = Vec::new();
        tx.for_each_prior("p", |r| {
            prior.push((r.key.to_owned(), r.fingerprint, r.state))
        })
        .unwrap();
        prior.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            prior,
            [
                ("k0".to_owned(), 3, RecordState::Present),
                ("k1".to_owned(), u128::MAX - 7, RecordState::Present)
            ]
        );
        let stored = tx.record("p", "k1").unwrap().unwrap();
        assert_eq!(
            (stored.person_id, stored.person_status.as_deref()),
            (Some(person), Some("active"))
        );
        assert_eq!(stored.fields["name"], "Ada");
        // Kept in the record only, read back in full.
        let row = tx.person(person).unwrap().unwrap();
        assert_eq!(
            Value::Object(row.attributes),
            json!({"name": "Ada", "dept": "IT"})
        );
        assert_eq!(
            tx.records_of_person(person).unwrap(),
            [("p".into(), "k0".into()), ("p".into(), "k1".into())]
        );
        let mut present = Vec::new();
        tx.for_each_present("p", |key, fields| {
            present.push((key.to_owned(), fields.len()));
            Ok(())
        })
        .unwrap();
        assert_eq!(present, [("k0".to_owned(), 0), ("k1".to_owned(), 2)]);
        let mut values = tx.present_values("p", "name").unwrap();
        values.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            values,
            [("k0".into(), Value::Null), ("k1".into(), json!("Ada"))]
        );
    }
);

on_both!(updates_removals_and_links_are_kept, |backing| {
    let mut store = backing.open();
    let tx = store.write(&CLAIM).unwrap();
    let run = tx.insert_run(&run_row("p", "failed")).unwrap();
    let fields = r#"{"name":"Ada"}"#;
    let person = tx
        .insert_person(&object(json!({"name": "Ada"})), run)
        .unwrap();
    tx.insert_record("p", "s", person, run, &record("k1", fields, 1))
        .unwrap();
    tx.insert_record("q", "s", person, run, &record("k1", fields, 1))
        .unwrap();
    tx.update_record("p", person, run, &record("k1", r#"{"name":"Bo"}"#, 2))
        .unwrap();
    // The person's attributes were the record's; they stay what they were.
    let row = tx.person(person).unwrap().unwrap();
    assert_eq!(row.attributes["name"], "Ada");
    assert_eq!(tx.record_fields("p", "k1").unwrap().unwrap()["name"], "Bo");
    assert_eq!(tx.system_links("s", "k1", "p").unwrap(), [person]);
    assert!(tx.system_shared("s", "p").unwrap());
    assert!(!tx.system_shared("other", "p").unwrap());
    assert_eq!(tx.remove_record("p", "k1", run).unwrap(), Some(person));
    assert_eq!(
        tx.present_records_of_person(person).unwrap(),
        [("q".into(), "k1".into())]
    );
    assert_eq!(
        tx.record("p", "k1").unwrap().unwrap().state,
        RecordState::Removed
    );
    assert_eq!(tx.record_person("q", "k1").unwrap(), Some(person));
    tx.set_person_state(
        person,
        &PersonState {
            status: "suspended".into(),
            limbo: Some("limbo".into()),
            inactive_since: Some("2025-01-01T00:00:00.000Z".into()),
            purge_at: Some("2025-02-01T00:00:00.000Z".into()),
        },
        run,
    )
    .unwrap();
    let due = tx
        .persons_due("2025-03-01T00:00:00.000Z", Some("s"))
        .unwrap();
    assert_eq!(due.iter().map(|p| p.id).collect::<Vec<_>>(), [person]);
    assert!(
        tx.persons_due("2025-01-15T00:00:00.000Z", None)
            .unwrap()
            .is_empty()
    );
    assert!(
        tx.persons_due("2025-03-01T00:00:00.000Z", Some("x"))
            .unwrap()
            .is_empty()
    );
    tx.delete_person(person).unwrap();
    assert!(tx.person(person).unwrap().is_none());
    assert!(tx.record("q", "k1").unwrap().is_none());
    tx.commit().unwrap();
});

on_both!(
    identities_sync_deactivating_identifiers_and_matching_only_usable_ones,
    |backing| {
        let mut store = backing.open();
        let tx = store.write(&CLAIM).unwrap();
        let run = tx.insert_run(&run_row("p", "failed")).unwrap();
        let person = tx.insert_person(&Map::new(), run).unwrap();
        tx.insert_record("p", "s", person, run, &record("k1", "{}", 1))
            .unwrap();
        let id = |value: &str| Identity {
            kind: IdentityKind::Identifier,
            type_name: "emp".into(),
            value: value.into(),
            usable: true,
        };
        let email = |value: &str, usable| Identity {
            kind: IdentityKind::Email,
            type_name: "work".into(),
            value: value.into(),
            usable,
        };
        tx.sync_identities(
            person,
            "p",
            "k1",
            &[email("Ada@X.org", true), id("E1")],
            true,
        )
        .unwrap();
        assert_eq!(
            tx.identity_candidates(IdentityKind::Email, "work", "ada@x.org")
                .unwrap(),
            [person]
        );
        tx.sync_identities(
            person,
            "p",
            "k1",
            &[email("ada@y.org", false), id("E2")],
            false,
        )
        .unwrap();
        let given = tx.record_identities("p", "k1").unwrap();
        let seen: Vec<(&str, bool)> = given.iter().map(|i| (i.value.as_str(), i.usable)).collect();
        assert_eq!(seen, [("ada@y.org", false), ("E1", false), ("E2", true)]);
        assert!(
            tx.identity_candidates(IdentityKind::Identifier, "emp", "E1")
                .unwrap()
                .is_empty(),
            "inactive identifiers never match"
        );
        assert!(
            tx.identity_candidates(IdentityKind::Email, "work", "ada@y.org")
                .unwrap()
                .is_empty(),
            "unverified addresses never match"
        );
        assert_eq!(
            tx.identity_candidates(IdentityKind::Identifier, "emp", "E2")
                .unwrap(),
            [person]
        );
        tx.sync_identities(person, "p", "k1", &[id("E1")], false)
            .unwrap();
        assert_eq!(
            tx.identity_candidates(IdentityKind::Identifier, "emp", "E1")
                .unwrap(),
            [person],
            "active again"
        );
        assert_eq!(tx.person_identities(person).unwrap().len(), 2);
        assert!(matches!(
            tx.sync_identities(person, "p", "nope", &[], true),
            Err(StoreError::NoRecord { .. })
        ));
    }
);

on_both!(
    a_first_load_matches_what_is_stored_and_what_it_wrote_itself,
    |backing| {
        let email = |value: &str| Identity {
            kind: IdentityKind::Email,
            type_name: "work".into(),
            value: value.into(),
            usable: true,
        };
        let mut store = backing.open();
        let tx = store.write(&Claim::run("q", "other")).unwrap();
        let run = tx.insert_run(&run_row("q", "applied")).unwrap();
        let before = tx.insert_person(&Map::new(), run).unwrap();
        tx.insert_record("q", "other", before, run, &record("k0", "{}", 1))
            .unwrap();
        tx.sync_identities(before, "q", "k0", &[email("a@x.org")], true)
            .unwrap();
        tx.commit().unwrap();

        let tx = store.write(&CLAIM).unwrap();
        let deferred = tx
            .defer_indexes("s", "p")
            .unwrap()
            .expect("a small store defers");
        let run = tx.insert_run(&run_row("p", "failed")).unwrap();
        let mut persons = Vec::new();
        for n in 0..40 {
            let person = tx.insert_person(&Map::new(), run).unwrap();
            let key = format!("k{n}");
            tx.insert_record("p", "s", person, run, &record(&key, "{}", 1))
                .unwrap();
            tx.sync_identities(person, "p", &key, &[email(&format!("p{n}@x.org"))], true)
                .unwrap();
            persons.push(person);
        }
        let candidates = |value: &str| {
            tx.identity_candidates(IdentityKind::Email, "work", value)
                .unwrap()
        };
        assert_eq!(candidates("a@x.org"), [before]);
        assert_eq!(candidates("p7@x.org"), [persons[7]]);
        assert_eq!(candidates("p39@x.org"), [persons[39]]);
        assert!(candidates("nobody@x.org").is_empty());
        tx.rebuild_indexes(deferred).unwrap();
        assert_eq!(candidates("p7@x.org"), [persons[7]]);
        tx.commit().unwrap();
        let tx = store.read().unwrap();
        assert_eq!(tx.person_identities(persons[39]).unwrap().len(), 1);
        assert_eq!(tx.record_person("p", "k39").unwrap(), Some(persons[39]));
    }
);

on_both!(
    roles_are_written_found_and_their_links_emptied_on_change,
    |backing| {
        let mut store = backing.open();
        let tx = store.write(&CLAIM).unwrap();
        let run = tx.insert_run(&run_row("p", "failed")).unwrap();
        let person = tx.insert_person(&Map::new(), run).unwrap();
        let boss = tx.insert_person(&Map::new(), run).unwrap();
        let manager = LinkRef {
            type_name: "emp".into(),
            value: "E9".into(),
        };
        let values = RoleValues {
            title: Some("Dr".into()),
            valid_until: Some("2030-01-01".into()),
            manager: Some(manager.clone()),
            ..Default::default()
        };
        let role = tx
            .insert_role(
                person,
                "p",
                "k1",
                (0, ""),
                "s",
                Some(("school", "gym")),
                &values,
                ("active", "2025-01-01T00:00:00.000Z"),
            )
            .unwrap();
        let second = tx
            .insert_role(
                person,
                "p",
                "k1",
                (1, "a"),
                "s",
                None,
                &RoleValues::default(),
                ("pending", "t"),
            )
            .unwrap();
        assert_eq!(tx.unresolved_roles("p").unwrap()[0].id, role);
        tx.set_role_link(role, Relation::Manager, Some(boss))
            .unwrap();
        assert!(tx.unresolved_roles("p").unwrap().is_empty());
        let timed: Vec<i64> = tx.timed_roles("p").unwrap().iter().map(|r| r.id).collect();
        assert_eq!(timed, [role, second]);
        let stored = tx.role(role).unwrap().unwrap();
        assert_eq!(stored.scope.as_deref(), Some("gym"));
        assert_eq!(stored.values, values);
        assert_eq!(stored.manager_person_id, Some(boss));
        // The same manager keeps the link; another empties it.
        tx.set_role_values(role, person, &values).unwrap();
        assert_eq!(
            tx.role(role).unwrap().unwrap().manager_person_id,
            Some(boss)
        );
        let moved = RoleValues {
            manager: Some(LinkRef {
                value: "E8".into(),
                ..manager
            }),
            ..values
        };
        tx.set_role_values(role, person, &moved).unwrap();
        assert_eq!(tx.role(role).unwrap().unwrap().manager_person_id, None);
        tx.set_role_status(
            role,
            &RoleStatusRow {
                status: "grace-period".into(),
                since: "2025-01-02T00:00:00.000Z".into(),
                grace_until: Some("2025-01-10T00:00:00.000Z".into()),
                status_after: Some("deleted".into()),
            },
        )
        .unwrap();
        let due = tx.roles_due("2025-01-11T00:00:00.000Z", Some("s")).unwrap();
        assert_eq!(due.iter().map(|r| r.id).collect::<Vec<_>>(), [role]);
        assert!(
            tx.roles_due("2025-01-09T00:00:00.000Z", None)
                .unwrap()
                .is_empty()
        );
        let of_record: Vec<(i64, String)> = tx
            .roles_of_record("p", "k1")
            .unwrap()
            .into_iter()
            .map(|r| (r.ordinal, r.member))
            .collect();
        assert_eq!(of_record, [(0, String::new()), (1, "a".into())]);
        assert_eq!(tx.roles_of_person(person).unwrap().len(), 2);
        assert!(tx.role_of_person(boss, role).unwrap().is_none());
        assert!(tx.role_exists(second).unwrap());
        tx.delete_person(person).unwrap();
        assert!(!tx.role_exists(second).unwrap());
    }
);

on_both!(the_rule_of_a_change_is_kept_and_read_back, |backing| {
    let mut store = backing.open();
    let tx = store.write(&CLAIM).unwrap();
    let run = tx.insert_run(&run_row("p", "applied")).unwrap();
    let person = tx.insert_person(&Map::new(), run).unwrap();
    tx.insert_record("p", "s", person, run, &record("k1", r#"{"a":1}"#, 1))
        .unwrap();
    let change = |key: &str, action: &str, why: Option<Why>| ChangeRow {
        run_id: run,
        pipeline: "p".into(),
        source_key: Some(key.into()),
        person_id: Some(person),
        action: action.into(),
        before: None,
        after: Some(json!({"a": 1})),
        why,
    };
    let rule = Why::OnRemoval {
        status: "suspended".into(),
        grace_period: Some(14 * 86_400),
        grace_until: Some("2025-03-22T00:00:00.000Z".into()),
    };
    tx.log_change(&change("k1", "create", None)).unwrap();
    tx.log_change(&change("k2", "remove", Some(rule.clone())))
        .unwrap();
    assert_eq!(tx.changes_of("p", "k2").unwrap()[0].why, Some(rule.clone()));
    // A creation is stored without its values and given them back.
    assert_eq!(
        tx.changes_of("p", "k1").unwrap()[0].after,
        Some(json!({"a": 1}))
    );
    let of_person: Vec<Option<Why>> = tx
        .changes_of_person(person)
        .unwrap()
        .into_iter()
        .map(|c| c.why)
        .collect();
    assert_eq!(of_person, [None, Some(rule)]);
    let log = tx.run_changes("p", run).unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].after, Some(json!({"a": 1})));
});

on_both!(runs_keep_their_checks_history_and_delivery, |backing| {
    let mut store = backing.open();
    let tx = store.write(&CLAIM).unwrap();
    let mut row = run_row("p", "applied");
    row.summary.read = 5;
    row.source.size = Some(42);
    row.checks = vec![
        Check {
            name: "z-first".into(),
            limit: 0.5,
            actual: Some(0.25),
            detail: "d".into(),
            passed: true,
        },
        Check {
            name: "a-second".into(),
            limit: 3.0,
            actual: None,
            detail: "e".into(),
            passed: false,
        },
    ];
    let first = tx.insert_run(&row).unwrap();
    let second = tx.insert_run(&run_row("p", "rejected")).unwrap();
    assert!(tx.undelivered_run("p").unwrap().is_some());
    tx.mark_delivered(first, "2025-01-01T00:00:02.000Z")
        .unwrap();
    assert!(tx.undelivered_run("p").unwrap().is_none());
    tx.note_run_error(second, "boom").unwrap();
    let last = tx.last_applied("p").unwrap().unwrap();
    assert_eq!(last.id, first);
    let names: Vec<&str> = last.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["z-first", "a-second"], "in the order written");
    assert_eq!((last.summary.read, last.source.size), (5, Some(42)));
    let history = tx.history("p", 10).unwrap();
    assert_eq!(
        history.iter().map(|r| r.id).collect::<Vec<_>>(),
        [second, first]
    );
    assert_eq!(history[0].error.as_deref(), Some("boom"));
    assert_eq!(tx.history("p", 1).unwrap().len(), 1);
    assert_eq!(tx.run(first).unwrap().unwrap().checks.len(), 2);
    tx.record_pipeline(
        "p",
        "s",
        &PipelineLifecycle {
            limbo: Some("l".into()),
            purge_after: Some(86_400),
        },
        first,
    )
    .unwrap();
    tx.record_pipeline("p", "s", &PipelineLifecycle::default(), second)
        .unwrap();
    assert_eq!(
        tx.pipeline_lifecycle("p").unwrap(),
        Some(PipelineLifecycle::default())
    );
    assert_eq!(tx.pipeline_lifecycle("q").unwrap(), None);
});

on_both!(freezes_are_set_replaced_listed_and_lifted, |backing| {
    let mut store = backing.open();
    let tx = store.write(&Claim::Whole).unwrap();
    let run = tx.insert_run(&run_row("@freeze", "applied")).unwrap();
    let person = tx.insert_person(&Map::new(), run).unwrap();
    let mut row = FrozenRow {
        person_id: person,
        attribute: "title".into(),
        value: json!("Dr"),
        frozen_by: "ops".into(),
        reason: None,
        until: None,
        frozen_at: "t".into(),
    };
    tx.freeze(&row).unwrap();
    row.value = json!("Prof");
    tx.freeze(&row).unwrap();
    tx.freeze(&FrozenRow {
        attribute: "role.1".into(),
        value: json!({"title": "x"}),
        ..row.clone()
    })
    .unwrap();
    let of: Vec<String> = tx
        .frozen_of(person)
        .unwrap()
        .into_iter()
        .map(|f| f.attribute)
        .collect();
    assert_eq!(of, ["role.1", "title"]);
    assert_eq!(tx.all_frozen().unwrap().len(), 2);
    assert_eq!(tx.unfreeze(person, "title").unwrap(), Some(row));
    assert_eq!(tx.unfreeze(person, "title").unwrap(), None);
});

on_both!(
    the_serial_counts_the_runs_that_committed_a_change_set,
    |backing| {
        let mut store = backing.open();
        let tx = store.write(&CLAIM).unwrap();
        let first = tx.lineage().unwrap();
        assert_eq!((first.lineage.len(), first.serial), (32, 0));
        for outcome in ["failed", "rejected", "applied", "no-change"] {
            tx.insert_run(&run_row("p", outcome)).unwrap();
        }
        // A run's row is inserted `failed` and updated when it commits: once.
        let id = tx.insert_run(&run_row("p", "failed")).unwrap();
        tx.update_run(id, &run_row("p", "applied")).unwrap();
        tx.update_run(id, &run_row("p", "applied")).unwrap();
        let now = tx.lineage().unwrap();
        assert_eq!(
            (now.lineage.as_str(), now.serial),
            (first.lineage.as_str(), 3)
        );
        tx.rollback().unwrap();
        assert_eq!(store.read().unwrap().lineage().unwrap(), first);
    }
);

on_both!(
    a_second_run_of_the_pipeline_or_its_system_is_refused_at_once,
    |backing| {
        let mut holder = backing.open();
        let mut other = backing.open();
        let tx = holder.write(&CLAIM).unwrap();
        tx.insert_run(&run_row("p", "failed")).unwrap();
        for claim in [CLAIM, Claim::run("p2", "s"), Claim::Whole] {
            assert!(
                matches!(other.write(&claim), Err(StoreError::Locked { .. })),
                "{claim:?}"
            );
        }
        // A reader is never refused, and sees what was committed only.
        assert_eq!(other.read().unwrap().history("p", 5).unwrap().len(), 0);
        tx.commit().unwrap();
        assert_eq!(other.read().unwrap().history("p", 5).unwrap().len(), 1);
        let tx = other.write(&CLAIM).unwrap();
        tx.rollback().unwrap();
    }
);

on_both!(a_reader_keeps_its_snapshot_while_a_run_commits, |backing| {
    let mut reader = backing.open();
    let mut writer = backing.open();
    let read = reader.read().unwrap();
    assert_eq!(read.history("p", 5).unwrap().len(), 0);
    let tx = writer.write(&CLAIM).unwrap();
    tx.insert_run(&run_row("p", "applied")).unwrap();
    tx.commit().unwrap();
    assert_eq!(read.history("p", 5).unwrap().len(), 0);
    assert_eq!(read.lineage().unwrap().serial, 0);
    drop(read);
    assert_eq!(reader.read().unwrap().lineage().unwrap().serial, 1);
});

on_both!(read_only_opening_never_creates_a_store, |backing| {
    let location = backing.location();
    assert!(Store::open_read_only(&location).unwrap().is_none());
    drop(backing.open());
    assert!(Store::open_read_only(&location).unwrap().is_some());
});

/// PostgreSQL locks a run's pipeline and system only: runs of different
/// systems proceed together, an operator command waits for no one but
/// is refused while any run is under way.
#[test]
fn postgres_runs_of_different_systems_proceed_together() {
    let backing = Backing::postgres();
    let (mut a, mut b, mut c) = (backing.open(), backing.open(), backing.open());
    let first = a.write(&Claim::run("staff", "hr")).unwrap();
    let second = b.write(&Claim::run("pupils", "school")).unwrap();
    first.insert_run(&run_row("staff", "applied")).unwrap();
    second.insert_run(&run_row("pupils", "applied")).unwrap();
    assert!(matches!(
        c.write(&Claim::Whole),
        Err(StoreError::Locked { .. })
    ));
    assert!(matches!(
        c.write(&Claim::run("teachers", "school")),
        Err(StoreError::Locked { .. })
    ));
    first.commit().unwrap();
    second.commit().unwrap();
    assert_eq!(c.read().unwrap().lineage().unwrap().serial, 2);
    let whole = c.write(&Claim::Whole).unwrap();
    assert!(matches!(
        a.write(&Claim::run("staff", "hr")),
        Err(StoreError::Locked { .. })
    ));
    whole.rollback().unwrap();
}

/// A client that dies mid-run (its connection dropped, as when SIGKILLed)
/// leaves nothing written and no lock behind.
#[test]
fn postgres_a_dropped_connection_leaves_the_store_as_before_and_unlocked() {
    let backing = Backing::postgres();
    {
        let mut dying = backing.open();
        let tx = dying.write(&CLAIM).unwrap();
        tx.insert_run(&run_row("p", "applied")).unwrap();
        std::mem::forget(tx);
        // The transaction is never ended; the connection closes with `dying`.
    }
    let mut next = backing.open();
    // The server ends the dead client's session as soon as it reads the
    // closed socket; give it a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let tx = loop {
        match next.write(&CLAIM) {
            Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => break other.unwrap(),
        }
    };
    assert!(tx.history("p", 5).unwrap().is_empty());
    tx.rollback().unwrap();
}

/// The password is in no message: a refused login says why without it.
#[test]
fn postgres_a_wrong_password_is_reported_without_it() {
    let server = rollcall_testkit::postgres::server();
    let url = server.fresh_database();
    let wrong = url.replacen(rollcall_testkit::postgres::PASSWORD, "not-the-Secret-42", 1);
    let Err(err) = Store::open(&wrong.parse().unwrap()) else {
        panic!("opened with a wrong password");
    };
    let text = format!("{err} {err:?}");
    assert!(!text.contains("not-the-Secret-42"), "{text}");
    assert!(text.contains("password"), "{text}");
    let help = miette::Diagnostic::help(&err).unwrap().to_string();
    assert!(help.contains("PGPASSWORD"), "{help}");
}

/// TLS as libpq means it: `verify-full` with the CA connects to the
/// server's name; without the CA the certificate is refused.
#[test]
fn postgres_tls_verifies_the_server_against_the_ca() {
    let server = rollcall_testkit::postgres::server();
    let ca = server.ca_file().expect("the test cluster's CA file");
    let url = server.fresh_database().replace("127.0.0.1", "localhost");
    let verified = format!("{url}?sslmode=verify-full&sslrootcert={}", ca.display());
    Store::open(&verified.parse().unwrap()).unwrap();
    let required = format!("{url}?sslmode=require");
    Store::open(&required.parse().unwrap()).unwrap();
    let unverifiable = format!("{url}?sslmode=verify-full");
    let Err(err) = Store::open(&unverifiable.parse().unwrap()) else {
        panic!("verified a certificate without its CA");
    };
    let help = miette::Diagnostic::help(&err).unwrap().to_string();
    assert!(help.contains("TLS"), "{err}: {help}");
}

on_both!(store_copy_names_every_table_of_the_schema, |backing| {
    drop(backing.open());
    let mut found: Vec<String> = match backing {
        Backing::Sqlite(_) => {
            let location = backing.location();
            let conn = rusqlite::Connection::open(location.file().unwrap()).unwrap();
            let mut stmt = conn
                .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
                .unwrap();
            stmt.query_map([], |row| row.get(0))
                .unwrap()
                .map(std::result::Result::unwrap)
                .collect()
        }
        Backing::Postgres(url) => {
            let mut client = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
            client
                .query(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
                    &[],
                )
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect()
        }
    };
    found.retain(|name| !NOT_COPIED.contains(&name.as_str()));
    found.sort();
    let mut listed: Vec<&str> = TABLES.iter().map(|(name, _, _)| *name).collect();
    listed.sort();
    assert_eq!(found, listed, "a new table must be added to store::TABLES");
});
