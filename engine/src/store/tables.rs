//! Every table of the schema, row by row, for `rollcall store copy`: one
//! store moved into another of either kind (SQLite to PostgreSQL and back),
//! every row with its id, verified by the row count and a checksum of each
//! table read back from the copy.
//!
//! The checksum is the wrapping sum of the xxh3 of each row's values, so
//! it does not depend on the order either backend returns rows in; a
//! boolean counts as the integer SQLite stores for it.

use serde::Serialize;

use super::{Result, Store, StoreError};

/// One value of a row, as both backends can store it.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// NULL.
    Null,
    /// An integer (ids, counts, flags as 0/1).
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes (fingerprints).
    Blob(Vec<u8>),
}

/// What [`Tables::table_rows`] calls with each row.
pub type EachRow<'e> = dyn FnMut(Vec<Field>) -> Result<()> + 'e;

/// The tables copied, in an order that writes every row after those it
/// references, each with its columns (common to both backends at the
/// current schema version) and whether it has an `id` whose counter moves.
pub const TABLES: &[(&str, &[&str], bool)] = &[
    (
        "runs",
        &[
            "id",
            "pipeline",
            "started_at",
            "finished_at",
            "outcome",
            "overridden",
            "forced",
            "source_uri",
            "source_etag",
            "source_size",
            "source_modified",
            "source_sha256",
            "records_read",
            "records_valid",
            "records_invalid",
            "records_filtered",
            "created",
            "updated",
            "removed",
            "reinstated",
            "unchanged",
            "held",
            "ambiguous",
            "transitions",
            "purged",
            "error",
            "delivered_at",
        ],
        true,
    ),
    (
        "run_checks",
        &[
            "run_id",
            "name",
            "limit_value",
            "actual",
            "detail",
            "passed",
        ],
        false,
    ),
    (
        "persons",
        &[
            "id",
            "status",
            "attributes",
            "limbo",
            "created_run",
            "updated_run",
            "inactive_since",
            "purge_at",
            "attributes_from",
        ],
        true,
    ),
    (
        "source_records",
        &[
            "id",
            "pipeline",
            "key",
            "system",
            "person_id",
            "state",
            "fingerprint",
            "fields",
            "raw",
            "first_seen_run",
            "changed_run",
            "removed_run",
        ],
        true,
    ),
    (
        "pipelines",
        &["name", "system", "limbo", "purge_after", "updated_run"],
        false,
    ),
    (
        "identifiers",
        &["id", "person_id", "type", "value", "active", "record_id"],
        true,
    ),
    (
        "emails",
        &[
            "id",
            "person_id",
            "type",
            "address",
            "folded",
            "verified",
            "record_id",
        ],
        true,
    ),
    (
        "roles",
        &[
            "id",
            "person_id",
            "pipeline",
            "source_key",
            "ordinal",
            "system",
            "scope_kind",
            "scope",
            "affiliation",
            "ou",
            "title",
            "valid_from",
            "valid_until",
            "manager_type",
            "manager_ref",
            "manager_person_id",
            "sponsor_type",
            "sponsor_ref",
            "sponsor_person_id",
            "status",
            "status_since",
            "grace_until",
            "status_after",
            "member",
        ],
        true,
    ),
    (
        "frozen_attributes",
        &[
            "person_id",
            "attribute",
            "value",
            "frozen_by",
            "reason",
            "until",
            "frozen_at",
        ],
        false,
    ),
    (
        "changes",
        &[
            "id",
            "run_id",
            "pipeline",
            "source_key",
            "person_id",
            "action",
            "before",
            "after",
            "why",
        ],
        true,
    ),
    (
        "target_outbox",
        &[
            "id",
            "target",
            "system",
            "pipeline",
            "run",
            "queued_at",
            "delivered_at",
            "attempts",
            "error",
        ],
        true,
    ),
    (
        "target_objects",
        &["target", "system", "kind", "key", "object_id", "name"],
        false,
    ),
];

/// Tables of a store that are not copied row by row: the lineage (the copy
/// takes the source's id; its serial follows from the runs), and each
/// backend's own bookkeeping (schema version, locks, id counters).
pub const NOT_COPIED: &[&str] = &["lineage", "rollcall_schema", "locks", "sqlite_sequence"];

/// Whole tables, read and written by a backend.
pub trait Tables {
    /// Calls `each` with every row of `table` (its `columns`, in order),
    /// in the order the rows were written.
    fn table_rows(&self, table: &str, columns: &[&str], each: &mut EachRow<'_>) -> Result<()>;

    /// Writes `rows` (values of `columns`) into `table`, ids as given.
    fn insert_table_rows(&self, table: &str, columns: &[&str], rows: &[Vec<Field>]) -> Result<()>;

    /// The highest id `table` ever gave (deleted rows' included), 0 if none.
    fn id_floor(&self, table: &str) -> Result<i64>;

    /// Makes `table` give ids above `floor` from now on.
    fn set_id_floor(&self, table: &str, floor: i64) -> Result<()>;

    /// Gives the store another store's lineage id (a copy is that store moved).
    fn set_lineage_id(&self, lineage: &str) -> Result<()>;
}

/// One table as copied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableCopy {
    /// The table.
    pub table: String,
    /// Rows read from the source and found in the copy.
    pub rows: u64,
    /// The checksum of both (hex), equal or the copy fails.
    pub checksum: String,
}

/// A copy's rows or checksum of a table differ from the source's.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error(
    "the copy of table {table} does not match: {source_rows} rows (checksum {source_sum:016x}) read, {copy_rows} (checksum {copy_sum:016x}) in the copy"
)]
#[diagnostic(
    code(rollcall::store::copy_mismatch),
    help("nothing was committed to the destination; report this with both stores' kinds")
)]
pub struct CopyMismatch {
    table: String,
    source_rows: u64,
    source_sum: u64,
    copy_rows: u64,
    copy_sum: u64,
}

/// The destination already holds runs or persons.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("state store {0} is not empty: a copy goes into a new, empty store only")]
#[diagnostic(
    code(rollcall::store::copy_not_empty),
    help("give `store copy` a new file, or an empty database, as its destination")
)]
pub struct NotEmpty(String);

/// Copies every table of `from` into `to` (which must be empty) in one
/// transaction on each, verified table by table before `to` commits.
pub fn copy_store(from: &mut Store, to: &mut Store) -> Result<Vec<TableCopy>> {
    let shown = to.path().display().to_string();
    let source = from.read()?;
    let target = to.write(&super::Claim::Whole)?;
    for table in ["runs", "persons"] {
        let mut any = false;
        target.table_rows(table, &["1"], &mut |_| {
            any = true;
            Ok(())
        })?;
        if any {
            return Err(StoreError::Backend(super::BackendError::new(NotEmpty(
                shown,
            ))));
        }
    }
    let mut report = Vec::new();
    for &(table, columns, has_id) in TABLES {
        let mut batch = Vec::with_capacity(1024);
        let (mut rows, mut sum) = (0u64, 0u64);
        source.table_rows(table, columns, &mut |row| {
            rows += 1;
            sum = sum.wrapping_add(row_hash(&row));
            batch.push(row);
            if batch.len() == 10_000 {
                target.insert_table_rows(table, columns, &std::mem::take(&mut batch))?;
            }
            Ok(())
        })?;
        target.insert_table_rows(table, columns, &batch)?;
        if has_id {
            target.set_id_floor(table, source.id_floor(table)?)?;
        }
        let (mut copy_rows, mut copy_sum) = (0u64, 0u64);
        target.table_rows(table, columns, &mut |row| {
            copy_rows += 1;
            copy_sum = copy_sum.wrapping_add(row_hash(&row));
            Ok(())
        })?;
        if (copy_rows, copy_sum) != (rows, sum) {
            return Err(StoreError::Backend(super::BackendError::new(
                CopyMismatch {
                    table: table.to_owned(),
                    source_rows: rows,
                    source_sum: sum,
                    copy_rows,
                    copy_sum,
                },
            )));
        }
        report.push(TableCopy {
            table: table.to_owned(),
            rows,
            checksum: format!("{sum:016x}"),
        });
    }
    target.set_lineage_id(&source.lineage()?.lineage)?;
    drop(source);
    target.commit()?;
    Ok(report)
}

/// The xxh3 of a row's values, each tagged with its kind.
fn row_hash(row: &[Field]) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for field in row {
        match field {
            Field::Null => hasher.update(&[0]),
            Field::Int(n) => {
                hasher.update(&[1]);
                hasher.update(&n.to_le_bytes());
            }
            Field::Real(x) => {
                hasher.update(&[2]);
                hasher.update(&x.to_bits().to_le_bytes());
            }
            Field::Text(text) => {
                hasher.update(&[3]);
                hasher.update(&(text.len() as u64).to_le_bytes());
                hasher.update(text.as_bytes());
            }
            Field::Blob(bytes) => {
                hasher.update(&[4]);
                hasher.update(&(bytes.len() as u64).to_le_bytes());
                hasher.update(bytes);
            }
        }
    }
    hasher.digest()
}
