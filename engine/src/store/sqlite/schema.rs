//! The state store's schema, as an ordered list of migrations.
//!
//! `PRAGMA user_version` records how many migrations a file has had. A
//! migration is only ever appended, never edited, so every store can be
//! brought forward from any earlier version.

/// Migrations in order; the store's `user_version` is the count applied.
pub const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11];

/// The first schema, laid out for the whole registry (persons, identifiers,
/// emails, roles, frozen attributes) even where the engine does not fill
/// every table yet, so later features extend it instead of redoing it.
const V1: &str = r#"
-- One row per run of a pipeline, whatever its outcome.
CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    pipeline        TEXT    NOT NULL,
    started_at      TEXT    NOT NULL,
    finished_at     TEXT    NOT NULL,
    outcome         TEXT    NOT NULL
                    CHECK (outcome IN ('applied', 'rejected', 'failed', 'no-change')),
    -- The gate failed but --accept-breach applied the change anyway.
    overridden      INTEGER NOT NULL DEFAULT 0,
    -- --resync / --force: re-applied although nothing was new.
    forced          INTEGER NOT NULL DEFAULT 0,
    source_uri      TEXT,
    source_etag     TEXT,
    source_size     INTEGER,
    source_modified TEXT,
    source_sha256   TEXT,
    records_read    INTEGER NOT NULL DEFAULT 0,
    records_valid   INTEGER NOT NULL DEFAULT 0,
    records_invalid INTEGER NOT NULL DEFAULT 0,
    records_filtered INTEGER NOT NULL DEFAULT 0,
    created         INTEGER NOT NULL DEFAULT 0,
    updated         INTEGER NOT NULL DEFAULT 0,
    removed         INTEGER NOT NULL DEFAULT 0,
    reinstated      INTEGER NOT NULL DEFAULT 0,
    unchanged       INTEGER NOT NULL DEFAULT 0,
    held            INTEGER NOT NULL DEFAULT 0,
    ambiguous       INTEGER NOT NULL DEFAULT 0,
    transitions     INTEGER NOT NULL DEFAULT 0,
    purged          INTEGER NOT NULL DEFAULT 0,
    error           TEXT
);
CREATE INDEX runs_by_pipeline ON runs (pipeline, id);

-- Every integrity threshold a run evaluated, with its figures.
CREATE TABLE run_checks (
    run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    -- Limit and actual figure in the same unit (records, or a ratio).
    limit_value REAL    NOT NULL,
    actual      REAL,
    detail      TEXT    NOT NULL,
    passed      INTEGER NOT NULL,
    PRIMARY KEY (run_id, name)
);

-- The registry's people. Attributes are a JSON object of person attributes.
-- AUTOINCREMENT: a purged person's id is never given to someone else, so the
-- change log's person ids stay unambiguous.
CREATE TABLE persons (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The best status among the person's roles (active > grace-period >
    -- suspended > expired > deleted).
    status         TEXT    NOT NULL DEFAULT 'active',
    attributes     TEXT    NOT NULL DEFAULT '{}',
    -- The limbo scope a deactivated person was moved to, if any.
    limbo          TEXT,
    created_run    INTEGER NOT NULL,
    updated_run    INTEGER NOT NULL,
    -- When the person last became inactive, and when they are due for purge.
    inactive_since TEXT,
    purge_at       TEXT
);
CREATE INDEX persons_by_purge ON persons (purge_at) WHERE purge_at IS NOT NULL;

-- What each pipeline last saw of each source key (the external identity).
-- The last run that saw a present record is the pipeline's last applied run:
-- recording it per row would rewrite every row on every run.
CREATE TABLE source_records (
    id             INTEGER PRIMARY KEY,
    pipeline       TEXT    NOT NULL,
    key            TEXT    NOT NULL,
    system         TEXT    NOT NULL,
    person_id      INTEGER REFERENCES persons (id),
    state          TEXT    NOT NULL CHECK (state IN ('present', 'removed')),
    fingerprint    BLOB    NOT NULL,
    fields         TEXT    NOT NULL,
    raw            TEXT,
    first_seen_run INTEGER NOT NULL,
    changed_run    INTEGER NOT NULL,
    removed_run    INTEGER
);
-- Covers the once-per-run load of (key, fingerprint, state).
CREATE UNIQUE INDEX source_records_by_key
    ON source_records (pipeline, key, fingerprint, state);
CREATE INDEX source_records_by_system ON source_records (system, key);
CREATE INDEX source_records_by_person ON source_records (person_id);

-- What each pipeline's lifecycle said when it last ran, so `rollcall purge`
-- can finish grace periods and deactivations without the pipeline files.
CREATE TABLE pipelines (
    name          TEXT    PRIMARY KEY,
    system        TEXT    NOT NULL,
    limbo         TEXT,
    -- Seconds; NULL means never purge.
    purge_after   INTEGER,
    updated_run   INTEGER NOT NULL
);

-- Identifiers of a person (matched case-sensitively, active only). A value
-- the source stops giving is kept inactive: it may be referenced elsewhere,
-- but must not match someone new.
CREATE TABLE identifiers (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    type       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    pipeline   TEXT,
    source_key TEXT
);
CREATE INDEX identifiers_by_value ON identifiers (type, value);
CREATE INDEX identifiers_by_person ON identifiers (person_id);
CREATE INDEX identifiers_by_record ON identifiers (pipeline, source_key);

-- Email addresses of a person (matched case-insensitively, verified only).
CREATE TABLE emails (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    type       TEXT    NOT NULL,
    address    TEXT    NOT NULL,
    folded     TEXT    NOT NULL,
    verified   INTEGER NOT NULL DEFAULT 0,
    pipeline   TEXT,
    source_key TEXT
);
CREATE INDEX emails_by_folded ON emails (type, folded);
CREATE INDEX emails_by_person ON emails (person_id);
CREATE INDEX emails_by_record ON emails (pipeline, source_key);

-- Roles (memberships): one per person, source record and role declaration.
CREATE TABLE roles (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id         INTEGER NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    pipeline          TEXT    NOT NULL,
    source_key        TEXT    NOT NULL,
    ordinal           INTEGER NOT NULL DEFAULT 0,
    system            TEXT    NOT NULL,
    scope_kind        TEXT,
    scope             TEXT,
    affiliation       TEXT,
    ou                TEXT,
    title             TEXT,
    valid_from        TEXT,
    valid_until       TEXT,
    -- Manager and sponsor: the identifier the source gave, and the person
    -- holding it (NULL while unresolved).
    manager_type      TEXT,
    manager_ref       TEXT,
    manager_person_id INTEGER REFERENCES persons (id) ON DELETE SET NULL,
    sponsor_type      TEXT,
    sponsor_ref       TEXT,
    sponsor_person_id INTEGER REFERENCES persons (id) ON DELETE SET NULL,
    status            TEXT    NOT NULL DEFAULT 'active',
    status_since      TEXT,
    -- In grace-period: when it ends and the status the role takes then.
    grace_until       TEXT,
    status_after      TEXT,
    UNIQUE (pipeline, source_key, ordinal)
);
CREATE INDEX roles_by_person ON roles (person_id);
CREATE INDEX roles_by_grace ON roles (grace_until) WHERE grace_until IS NOT NULL;

-- Person and role attributes an operator froze: a sync never overwrites
-- them. `attribute` is a person attribute name, `role.ID.NAME` for one
-- attribute of a role, or `role.ID` for the whole role (and its status).
CREATE TABLE frozen_attributes (
    person_id INTEGER NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    attribute TEXT    NOT NULL,
    -- The frozen value as JSON.
    value     TEXT,
    frozen_by TEXT    NOT NULL,
    reason    TEXT,
    until     TEXT,
    frozen_at TEXT    NOT NULL,
    PRIMARY KEY (person_id, attribute)
);

-- The change log: what each run did to each record and person.
CREATE TABLE changes (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    pipeline   TEXT    NOT NULL,
    source_key TEXT,
    person_id  INTEGER,
    action     TEXT    NOT NULL,
    -- JSON objects of the changed fields only.
    before     TEXT,
    after      TEXT
);
CREATE INDEX changes_by_record ON changes (pipeline, source_key);
CREATE INDEX changes_by_run ON changes (run_id);
CREATE INDEX changes_by_person ON changes (person_id);
"#;

/// Indexes for the two once-per-run questions that otherwise read every
/// record or role of a pipeline (issue 7: at a million records they were
/// 40% of a steady-state run).
const V2: &str = r#"
-- "Does another pipeline hold records of this system?" as two range seeks
-- (system, pipeline < P) and (system, pipeline > P), instead of reading
-- every row of the system to look at its pipeline.
CREATE INDEX source_records_by_system_pipeline ON source_records (system, pipeline);

-- The roles whose manager or sponsor is still to be found, without reading
-- every role of the pipeline: only such roles are in this index. The
-- condition is written exactly as the query asks it, so SQLite uses it.
CREATE INDEX roles_unresolved ON roles (pipeline, source_key, ordinal)
    WHERE (manager_ref IS NOT NULL AND manager_person_id IS NULL)
       OR (sponsor_ref IS NOT NULL AND sponsor_person_id IS NULL);
"#;

/// A role's uniqueness per (pipeline, key, ordinal) as a named index
/// instead of a table constraint, so a first load can build it once at the
/// end (`store::bulk`): kept row by row it was the costliest index of a
/// first load. SQLite cannot drop a constraint, so the table is rebuilt,
/// keeping every row, id and the AUTOINCREMENT counter.
const V3: &str = r#"
CREATE TEMP TABLE roles_sequence AS
    SELECT seq FROM sqlite_sequence WHERE name = 'roles';

CREATE TABLE roles_v3 (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id         INTEGER NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    pipeline          TEXT    NOT NULL,
    source_key        TEXT    NOT NULL,
    ordinal           INTEGER NOT NULL DEFAULT 0,
    system            TEXT    NOT NULL,
    scope_kind        TEXT,
    scope             TEXT,
    affiliation       TEXT,
    ou                TEXT,
    title             TEXT,
    valid_from        TEXT,
    valid_until       TEXT,
    -- Manager and sponsor: the identifier the source gave, and the person
    -- holding it (NULL while unresolved).
    manager_type      TEXT,
    manager_ref       TEXT,
    manager_person_id INTEGER REFERENCES persons (id) ON DELETE SET NULL,
    sponsor_type      TEXT,
    sponsor_ref       TEXT,
    sponsor_person_id INTEGER REFERENCES persons (id) ON DELETE SET NULL,
    status            TEXT    NOT NULL DEFAULT 'active',
    status_since      TEXT,
    -- In grace-period: when it ends and the status the role takes then.
    grace_until       TEXT,
    status_after      TEXT
);
INSERT INTO roles_v3 SELECT * FROM roles;
DROP TABLE roles;
ALTER TABLE roles_v3 RENAME TO roles;

-- Ids are never reused, even those of purged roles.
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'roles', seq FROM temp.roles_sequence
     WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'roles');
UPDATE sqlite_sequence SET seq = max(seq, (SELECT seq FROM temp.roles_sequence))
 WHERE name = 'roles' AND EXISTS (SELECT 1 FROM temp.roles_sequence);
DROP TABLE temp.roles_sequence;

CREATE UNIQUE INDEX roles_by_record ON roles (pipeline, source_key, ordinal);
CREATE INDEX roles_by_person ON roles (person_id);
CREATE INDEX roles_by_grace ON roles (grace_until) WHERE grace_until IS NOT NULL;
CREATE INDEX roles_unresolved ON roles (pipeline, source_key, ordinal)
    WHERE (manager_ref IS NOT NULL AND manager_person_id IS NULL)
       OR (sponsor_ref IS NOT NULL AND sponsor_person_id IS NULL);
"#;

/// When an applied run's outputs were written and uploaded. A run killed
/// between its commit and its outputs keeps NULL, so `history` and the next
/// `run` can say so. Runs from before this column count as delivered: no
/// one can tell now, and a warning about every old run would be noise.
const V4: &str = r#"
ALTER TABLE runs ADD COLUMN delivered_at TEXT;
UPDATE runs SET delivered_at = finished_at WHERE outcome IN ('applied', 'no-change');
"#;

/// Roles from one `role` declaration per value of a list field (`each`):
/// a record's role is then told by its declaration and its value, so one
/// school leaving a multi-school cell ends that school's role only. Plain
/// roles have the empty member; their rows and uniqueness are unchanged.
const V5: &str = r#"
ALTER TABLE roles ADD COLUMN member TEXT NOT NULL DEFAULT '';
DROP INDEX roles_by_record;
CREATE UNIQUE INDEX roles_by_record ON roles (pipeline, source_key, ordinal, member);
"#;

/// The roles time alone may move (see [`TIMED_ROLES`]), found without
/// reading every role of the pipeline: on a day-2 run of 100,000 people with
/// none of them dated, that scan cost 7 % of the run's instructions.
const V6: &str = r#"
CREATE INDEX roles_timed ON roles (pipeline)
    WHERE status = 'pending' OR (status = 'active' AND valid_until IS NOT NULL);
"#;

/// A more compact layout (issue 17). Emails and identifiers name the
/// record that gave them by its row id instead of repeating its pipeline
/// and key as text (those columns and their indexes were 180 of a
/// person's 2,100 bytes), and a person created by one record and not
/// changed since keeps its attributes in that record only (320 bytes).
/// Rows of a record no longer stored (none today: purge deletes the
/// person's identities with its records) keep a NULL record.
const V7: &str = r#"
CREATE TABLE emails_v7 (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    type       TEXT    NOT NULL,
    address    TEXT    NOT NULL,
    folded     TEXT    NOT NULL,
    verified   INTEGER NOT NULL DEFAULT 0,
    -- The source record (source_records.id) that gave the address.
    record_id  INTEGER
);
INSERT INTO emails_v7 (id, person_id, type, address, folded, verified, record_id)
     SELECT e.id, e.person_id, e.type, e.address, e.folded, e.verified, r.id
       FROM emails e
       LEFT JOIN source_records r ON r.pipeline = e.pipeline AND r.key = e.source_key;
DROP TABLE emails;
ALTER TABLE emails_v7 RENAME TO emails;
CREATE INDEX emails_by_folded ON emails (type, folded);
CREATE INDEX emails_by_person ON emails (person_id);
CREATE INDEX emails_by_record ON emails (record_id);

CREATE TABLE identifiers_v7 (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    type       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    -- The source record (source_records.id) that gave the identifier.
    record_id  INTEGER
);
INSERT INTO identifiers_v7 (id, person_id, type, value, active, record_id)
     SELECT i.id, i.person_id, i.type, i.value, i.active, r.id
       FROM identifiers i
       LEFT JOIN source_records r ON r.pipeline = i.pipeline AND r.key = i.source_key;
DROP TABLE identifiers;
ALTER TABLE identifiers_v7 RENAME TO identifiers;
CREATE INDEX identifiers_by_value ON identifiers (type, value);
CREATE INDEX identifiers_by_person ON identifiers (person_id);
CREATE INDEX identifiers_by_record ON identifiers (record_id);

-- A person whose attributes are exactly the fields of the record that
-- created them keeps them there only: `attributes` is then '' and
-- `attributes_from` names that record. Any write of the attributes stores
-- them in full again (and clears `attributes_from`).
ALTER TABLE persons ADD COLUMN attributes_from INTEGER;
"#;

/// The rule behind a change (`store::Why`, as JSON), for `rollcall
/// explain`; NULL where the record itself said so, and on older entries.
const V8: &str = r#"
ALTER TABLE changes ADD COLUMN why TEXT;
"#;

/// The store's lineage and serial, which a saved plan is bound to
/// (`rollcall plan --out`, `rollcall apply`). The lineage is drawn once, when
/// the store is made (or brought to this version), so a store restored from
/// another one's backup, or made anew, is told apart; the serial counts the
/// runs that committed a change set (`applied` or `no-change`, operator
/// commands included). Triggers keep it, so no writer can forget it.
const V9: &str = r#"
CREATE TABLE lineage (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    lineage TEXT    NOT NULL,
    serial  INTEGER NOT NULL
);
INSERT INTO lineage (id, lineage, serial)
     VALUES (1, lower(hex(randomblob(16))),
             (SELECT count(*) FROM runs WHERE outcome IN ('applied', 'no-change')));
CREATE TRIGGER lineage_serial_on_insert AFTER INSERT ON runs
     WHEN NEW.outcome IN ('applied', 'no-change')
BEGIN
    UPDATE lineage SET serial = serial + 1;
END;
CREATE TRIGGER lineage_serial_on_update AFTER UPDATE OF outcome ON runs
     WHEN NEW.outcome IN ('applied', 'no-change') AND OLD.outcome IS NOT NEW.outcome
BEGIN
    UPDATE lineage SET serial = serial + 1;
END;
"#;

/// Targets (issue 19): the outbox of deliveries each target has still to
/// accept, queued in the run's transaction, and the objects of each target
/// that rollcall owns (created, or adopted by a declared match). A target
/// is shared by the pipelines of one system, so both are keyed by
/// `(target, system)`. `object_id` is NULL while a creation is in flight.
const V10: &str = r#"
CREATE TABLE target_outbox (
    id           INTEGER PRIMARY KEY,
    target       TEXT    NOT NULL,
    system       TEXT    NOT NULL,
    pipeline     TEXT    NOT NULL,
    run          INTEGER NOT NULL,
    queued_at    TEXT    NOT NULL,
    delivered_at TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT
);
CREATE INDEX target_outbox_pending ON target_outbox (system, target) WHERE delivered_at IS NULL;
CREATE TABLE target_objects (
    target    TEXT NOT NULL,
    system    TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('person', 'group')),
    key       TEXT NOT NULL,
    object_id TEXT,
    name      TEXT NOT NULL,
    PRIMARY KEY (target, system, kind, key)
);
"#;

/// Read-only views for the applications that consume the registry with
/// plain SQL (README, "Reading the registry from SQL"): their names and
/// columns are a contract kept by later migrations, while the tables
/// beneath may change (as V7's compact layout did). A person's attributes
/// are given whole, wherever the store keeps them.
const V11: &str = r#"
CREATE VIEW registry_persons AS
SELECT p.id AS person_id, p.status, p.limbo, p.inactive_since, p.purge_at,
       CASE WHEN p.attributes = '' THEN a.fields ELSE p.attributes END AS attributes,
       p.created_run, p.updated_run
  FROM persons p LEFT JOIN source_records a ON a.id = p.attributes_from;
CREATE VIEW registry_roles AS
SELECT id AS role_id, person_id, system, pipeline, source_key, scope_kind, scope,
       affiliation, ou, title, status, status_since, valid_from, valid_until,
       grace_until, status_after, manager_person_id, sponsor_person_id
  FROM roles;
CREATE VIEW registry_identifiers AS
SELECT i.person_id, 'identifier' AS kind, i.type, i.value, i.active, NULL AS verified,
       r.pipeline, r.key AS source_key
  FROM identifiers i LEFT JOIN source_records r ON r.id = i.record_id
UNION ALL
SELECT e.person_id, 'email' AS kind, e.type, e.address AS value, NULL AS active, e.verified,
       r.pipeline, r.key AS source_key
  FROM emails e LEFT JOIN source_records r ON r.id = e.record_id;
"#;

/// Which roles the validity step re-checks each run: pending ones (waiting
/// for `valid-from`) and active ones with a `valid-until`. The same words
/// as `roles_timed`'s condition, so SQLite can use that partial index.
pub(super) const TIMED_ROLES: &str = "pipeline = ?1
   AND (status = 'pending' OR (status = 'active' AND valid_until IS NOT NULL))
 ORDER BY id";

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;
    use crate::store::Backend;

    /// The plan SQLite picks for `sql`, as one line per step.
    fn plan(store: &SqliteStore, sql: &str, params: &[&str]) -> String {
        let mut stmt = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let steps = stmt
            .query_map(rusqlite::params_from_iter(params), |row| {
                row.get::<_, String>(3)
            })
            .unwrap();
        steps.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn the_validity_step_reads_only_timed_roles_through_their_index() {
        let store = SqliteStore::in_memory().unwrap();
        let sql = format!("SELECT id FROM roles WHERE {}", super::TIMED_ROLES);
        let steps = plan(&store, &sql, &["p"]);
        assert!(steps.contains("USING INDEX roles_timed"), "{steps}");
    }

    #[test]
    fn once_per_run_questions_use_their_indexes() {
        let store = SqliteStore::in_memory().unwrap();
        let shared = plan(&store, super::super::records::SYSTEM_SHARED, &["s", "p"]);
        assert_eq!(
            shared
                .matches("COVERING INDEX source_records_by_system_pipeline")
                .count(),
            2,
            "{shared}"
        );
        assert!(!shared.contains("SCAN source_records"), "{shared}");
        let sql = format!(
            "SELECT id FROM {} WHERE {}",
            super::super::roles::UNRESOLVED_FROM,
            super::super::roles::UNRESOLVED
        );
        let unresolved = plan(&store, &sql, &["p"]);
        assert!(
            unresolved.contains("INDEX roles_unresolved"),
            "{unresolved}"
        );
    }

    #[test]
    fn v3_rebuilds_roles_keeping_rows_ids_the_sequence_and_uniqueness() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(super::V1).unwrap();
        conn.execute_batch(super::V2).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 2;
             INSERT INTO persons (id, created_run, updated_run) VALUES (1, 1, 1);
             INSERT INTO roles (person_id, pipeline, source_key, ordinal, system, title)
                  VALUES (1, 'p', 'k1', 0, 's', 'Dr'), (1, 'p', 'k2', 0, 's', NULL);
             DELETE FROM roles WHERE source_key = 'k2';",
        )
        .unwrap();
        let mut store = SqliteStore::configure(conn, std::path::Path::new(":memory:")).unwrap();
        store.migrate().unwrap();
        let conn = &store.conn;

        let kept: (i64, String, String) = conn
            .query_row("SELECT id, source_key, title FROM roles", [], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .unwrap();
        assert_eq!(kept, (1, "k1".into(), "Dr".into()));
        // The purged role's id 2 is not handed out again.
        conn.execute(
            "INSERT INTO roles (person_id, pipeline, source_key, ordinal, system)
                  VALUES (1, 'p', 'k3', 0, 's')",
            [],
        )
        .unwrap();
        assert_eq!(conn.last_insert_rowid(), 3);
        let duplicate = conn.execute(
            "INSERT INTO roles (person_id, pipeline, source_key, ordinal, system)
                  VALUES (1, 'p', 'k1', 0, 's')",
            [],
        );
        assert!(
            duplicate
                .unwrap_err()
                .to_string()
                .contains("UNIQUE constraint failed"),
        );
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_schema WHERE tbl_name = 'roles' AND type = 'index' ORDER BY name")
            .unwrap();
        let indexes: Vec<String> = stmt
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            indexes,
            [
                "roles_by_grace",
                "roles_by_person",
                "roles_by_record",
                "roles_timed",
                "roles_unresolved"
            ]
        );
    }

    #[test]
    fn v7_points_identities_at_their_records_by_id_and_reads_older_rows_as_they_were() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for migration in &super::MIGRATIONS[..6] {
            conn.execute_batch(migration).unwrap();
        }
        conn.execute_batch(
            r#"PRAGMA user_version = 6;
             INSERT INTO persons (id, attributes, created_run, updated_run)
                  VALUES (1, '{"name":"Ada"}', 1, 1);
             INSERT INTO source_records (id, pipeline, key, system, person_id, state,
                                         fingerprint, fields, first_seen_run, changed_run)
                  VALUES (7, 'p', 'k1', 's', 1, 'present', x'00', '{"name":"Ada"}', 1, 1);
             INSERT INTO runs (id, pipeline, started_at, finished_at, outcome)
                  VALUES (1, 'p', 't0', 't1', 'applied');
             INSERT INTO changes (run_id, pipeline, source_key, person_id, action, after)
                  VALUES (1, 'p', 'k1', 1, 'create', '{"name":"Ada"}');
             INSERT INTO emails (person_id, type, address, folded, verified, pipeline, source_key)
                  VALUES (1, 'work', 'A@x.org', 'a@x.org', 1, 'p', 'k1');
             INSERT INTO identifiers (person_id, type, value, active, pipeline, source_key)
                  VALUES (1, 'emp', 'E1', 0, 'p', 'k1'), (1, 'emp', 'E2', 1, 'p', 'gone');"#,
        )
        .unwrap();
        let mut store = SqliteStore::configure(conn, std::path::Path::new(":memory:")).unwrap();
        store.migrate().unwrap();
        let tx = store.read().unwrap();
        let given = tx.record_identities("p", "k1").unwrap();
        let seen: Vec<(&str, bool)> = given.iter().map(|i| (i.value.as_str(), i.usable)).collect();
        assert_eq!(seen, [("A@x.org", true), ("E1", false)]);
        assert_eq!(tx.person_identities(1).unwrap().len(), 3, "no row lost");
        // What an older store holds in full is read as it was.
        let person = tx.person(1).unwrap().unwrap();
        assert_eq!(person.attributes["name"], "Ada");
        let log = tx.changes_of("p", "k1").unwrap();
        assert_eq!(log[0].after, Some(serde_json::json!({"name": "Ada"})));
    }

    #[test]
    fn v4_counts_older_applied_runs_as_delivered() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for migration in &super::MIGRATIONS[..3] {
            conn.execute_batch(migration).unwrap();
        }
        conn.execute_batch(
            "PRAGMA user_version = 3;
             INSERT INTO runs (id, pipeline, started_at, finished_at, outcome)
                  VALUES (1, 'p', 't0', 't1', 'applied'), (2, 'p', 't2', 't3', 'failed');",
        )
        .unwrap();
        let mut store = SqliteStore::configure(conn, std::path::Path::new(":memory:")).unwrap();
        store.migrate().unwrap();
        let tx = store.read().unwrap();
        let runs = tx.history("p", 10).unwrap();
        let delivered: Vec<(i64, Option<&str>)> = runs
            .iter()
            .map(|r| (r.id, r.delivered_at.as_deref()))
            .collect();
        assert_eq!(delivered, [(2, None), (1, Some("t1"))]);
        assert!(runs.iter().all(|r| !r.undelivered()));
        assert!(tx.undelivered_run("p").unwrap().is_none());
    }
}
