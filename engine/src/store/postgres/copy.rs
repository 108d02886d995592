//! Rows inserted by a run, held back and written together: with many, as
//! one binary `COPY` per table; with few, one prepared `INSERT` each.
//!
//! A first load inserts a person, a record, its identities, its roles and a
//! change per key; one round trip per row made it several times slower than
//! SQLite. The rows wait here instead, and [`PgTx::flush`] writes them
//! before any other statement runs (every read and every update goes
//! through it, and so does the commit), so nothing ever reads past a
//! pending row and the store sees the same rows in the same order as if
//! each had been inserted at once. Ids the caller needs back (persons,
//! records, roles) are drawn ahead from the tables' own identity sequences,
//! a block at a time, so they are the ids an `INSERT` would have given
//! (gaps aside, which ids never promised not to have).

use std::collections::HashMap;
use std::error::Error;

use bytes::BytesMut;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::PgTx;
use crate::store::Result;

/// Below this many rows a table's pending rows are inserted one by one:
/// a `COPY` costs two round trips of its own.
const COPY_FROM: usize = 16;

/// Ids drawn from a sequence at a time.
const ID_BLOCK: i64 = 1000;

/// One value of a pending row.
#[derive(Debug, Clone)]
pub(super) enum Cell {
    /// `BIGINT`.
    Int(Option<i64>),
    /// `TEXT`.
    Text(Option<String>),
    /// `BOOLEAN`.
    Bool(bool),
    /// `BYTEA`.
    Bytes(Option<Vec<u8>>),
    /// `DOUBLE PRECISION`.
    Real(Option<f64>),
}

impl ToSql for Cell {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Cell::Int(value) => value.to_sql(ty, out),
            Cell::Text(value) => value.to_sql(ty, out),
            Cell::Bool(value) => value.to_sql(ty, out),
            Cell::Bytes(value) => value.to_sql(ty, out),
            Cell::Real(value) => value.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        [
            Type::INT8,
            Type::TEXT,
            Type::BOOL,
            Type::BYTEA,
            Type::FLOAT8,
        ]
        .contains(ty)
    }

    to_sql_checked!();
}

/// The tables rows wait for, in the order they are written (each after
/// the tables it references).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Table {
    Persons,
    Records,
    Roles,
    Emails,
    Identifiers,
    Changes,
}

impl Table {
    const ALL: [Table; 6] = [
        Table::Persons,
        Table::Records,
        Table::Roles,
        Table::Emails,
        Table::Identifiers,
        Table::Changes,
    ];

    fn name(self) -> &'static str {
        match self {
            Table::Persons => "persons",
            Table::Records => "source_records",
            Table::Roles => "roles",
            Table::Emails => "emails",
            Table::Identifiers => "identifiers",
            Table::Changes => "changes",
        }
    }

    /// The columns a pending row gives, in its order, with their types.
    fn columns(self) -> &'static [(&'static str, Type)] {
        const I: Type = Type::INT8;
        const T: Type = Type::TEXT;
        const B: Type = Type::BOOL;
        match self {
            Table::Persons => &[
                ("id", I),
                ("status", T),
                ("attributes", T),
                ("created_run", I),
                ("updated_run", I),
                ("attributes_from", I),
            ],
            Table::Records => &[
                ("id", I),
                ("pipeline", T),
                ("key", T),
                ("system", T),
                ("person_id", I),
                ("state", T),
                ("fingerprint", Type::BYTEA),
                ("fields", T),
                ("raw", T),
                ("first_seen_run", I),
                ("changed_run", I),
            ],
            Table::Roles => &[
                ("id", I),
                ("person_id", I),
                ("pipeline", T),
                ("source_key", T),
                ("ordinal", I),
                ("system", T),
                ("scope_kind", T),
                ("scope", T),
                ("affiliation", T),
                ("ou", T),
                ("title", T),
                ("valid_from", T),
                ("valid_until", T),
                ("manager_type", T),
                ("manager_ref", T),
                ("sponsor_type", T),
                ("sponsor_ref", T),
                ("status", T),
                ("status_since", T),
                ("member", T),
            ],
            Table::Emails => &[
                ("person_id", I),
                ("type", T),
                ("address", T),
                ("folded", T),
                ("verified", B),
                ("record_id", I),
            ],
            Table::Identifiers => &[
                ("person_id", I),
                ("type", T),
                ("value", T),
                ("active", B),
                ("record_id", I),
            ],
            Table::Changes => &[
                ("run_id", I),
                ("pipeline", T),
                ("source_key", T),
                ("person_id", I),
                ("action", T),
                ("before", T),
                ("after", T),
                ("why", T),
            ],
        }
    }

    fn column_list(self) -> String {
        let names: Vec<&str> = self.columns().iter().map(|(name, _)| *name).collect();
        names.join(", ")
    }
}

/// Rows waiting to be written, and ids drawn ahead.
#[derive(Debug, Default)]
pub(super) struct Pending {
    rows: HashMap<Table, Vec<Vec<Cell>>>,
    /// Per table, ids drawn ahead, the next one last.
    ids: HashMap<Table, Vec<i64>>,
    count: usize,
}

impl Pending {
    /// Whether a row waits.
    fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl PgTx<'_> {
    /// Holds a row back until the next [`PgTx::flush`].
    pub(super) fn hold(&self, table: Table, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), table.columns().len());
        let mut pending = self.pending.borrow_mut();
        pending.rows.entry(table).or_default().push(row);
        pending.count += 1;
    }

    /// Amends the last row held for `table` before it is written; whether
    /// `amend` found it to be the row it wanted (it returns that).
    pub(super) fn amend_last(&self, table: Table, amend: impl FnOnce(&mut [Cell]) -> bool) -> bool {
        let mut pending = self.pending.borrow_mut();
        pending
            .rows
            .get_mut(&table)
            .and_then(|rows| rows.last_mut())
            .is_some_and(|row| amend(row))
    }

    /// The id the next row of `table` gets, drawn from its identity
    /// sequence a block at a time (no flush needed: nothing is read).
    pub(super) fn next_id(&self, table: Table) -> Result<i64> {
        if let Some(id) = self
            .pending
            .borrow_mut()
            .ids
            .get_mut(&table)
            .and_then(Vec::pop)
        {
            return Ok(id);
        }
        // One `nextval` per id: a concurrent run drawing from the same
        // sequence may interleave, so a block is the ids returned, not a range.
        let sql = "SELECT nextval(pg_get_serial_sequence($1, 'id')::regclass)
                     FROM generate_series(1, $2::bigint) ORDER BY 1 DESC";
        let statement = self.prepared(sql)?;
        let mut ids: Vec<i64> = self
            .tx
            .borrow_mut()
            .query(&statement, &[&table.name(), &ID_BLOCK])
            .map_err(|e| self.err(e))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let first = ids.pop().expect("a block of ids");
        self.pending.borrow_mut().ids.insert(table, ids);
        Ok(first)
    }

    /// Writes every row held back, table by table.
    pub(super) fn flush(&self) -> Result<()> {
        if self.pending.borrow().is_empty() {
            return Ok(());
        }
        let mut rows = std::mem::take(&mut self.pending.borrow_mut().rows);
        self.pending.borrow_mut().count = 0;
        for table in Table::ALL {
            let Some(rows) = rows.remove(&table).filter(|rows| !rows.is_empty()) else {
                continue;
            };
            if rows.len() < COPY_FROM {
                self.insert_each(table, &rows)?;
            } else {
                self.copy(table, &rows)?;
            }
        }
        Ok(())
    }

    fn insert_each(&self, table: Table, rows: &[Vec<Cell>]) -> Result<()> {
        let placeholders: Vec<String> = (1..=table.columns().len())
            .map(|n| format!("${n}"))
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            table.name(),
            table.column_list(),
            placeholders.join(", ")
        );
        let statement = self.prepared(&sql)?;
        let mut tx = self.tx.borrow_mut();
        for row in rows {
            let params: Vec<&(dyn ToSql + Sync)> =
                row.iter().map(|cell| cell as &(dyn ToSql + Sync)).collect();
            tx.execute(&statement, &params).map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    fn copy(&self, table: Table, rows: &[Vec<Cell>]) -> Result<()> {
        let sql = format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            table.name(),
            table.column_list()
        );
        let types: Vec<Type> = table.columns().iter().map(|(_, ty)| ty.clone()).collect();
        self.copy_rows(&sql, &types, rows)
    }

    /// Runs `sql` (a binary `COPY ... FROM STDIN`) with `rows` of `types`.
    pub(super) fn copy_rows(&self, sql: &str, types: &[Type], rows: &[Vec<Cell>]) -> Result<()> {
        let mut tx = self.tx.borrow_mut();
        let sink = tx.copy_in(sql).map_err(|e| self.err(e))?;
        let mut writer = BinaryCopyInWriter::new(sink, types);
        for row in rows {
            let values: Vec<&(dyn ToSql + Sync)> =
                row.iter().map(|cell| cell as &(dyn ToSql + Sync)).collect();
            writer.write(&values).map_err(|e| self.err(e))?;
        }
        writer.finish().map_err(|e| self.err(e))?;
        Ok(())
    }
}
