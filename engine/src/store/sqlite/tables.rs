//! [`Tables`] in SQLite.

use rusqlite::types::{Value, ValueRef};

use super::SqliteTx;
use crate::store::{EachRow, Field, Result, Tables};

/// Tables whose ids are never reused (AUTOINCREMENT): their counter is kept
/// in `sqlite_sequence`; the others give max(id) + 1.
const COUNTED: &[&str] = &["persons", "roles"];

impl Tables for SqliteTx<'_> {
    fn table_rows(&self, table: &str, columns: &[&str], each: &mut EachRow<'_>) -> Result<()> {
        let sql = format!("SELECT {} FROM {table} ORDER BY rowid", columns.join(", "));
        let mut stmt = self.tx.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let mut fields = Vec::with_capacity(columns.len());
            for at in 0..columns.len() {
                fields.push(match row.get_ref(at).map_err(|e| self.err(e))? {
                    ValueRef::Null => Field::Null,
                    ValueRef::Integer(n) => Field::Int(n),
                    ValueRef::Real(x) => Field::Real(x),
                    ValueRef::Text(text) => Field::Text(String::from_utf8_lossy(text).into_owned()),
                    ValueRef::Blob(bytes) => Field::Blob(bytes.to_vec()),
                });
            }
            each(fields)?;
        }
        Ok(())
    }

    fn insert_table_rows(&self, table: &str, columns: &[&str], rows: &[Vec<Field>]) -> Result<()> {
        let marks: Vec<String> = (1..=columns.len()).map(|n| format!("?{n}")).collect();
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            columns.join(", "),
            marks.join(", ")
        );
        let mut stmt = self.tx.prepare_cached(&sql).map_err(|e| self.err(e))?;
        for row in rows {
            let values = row.iter().map(|field| match field {
                Field::Null => Value::Null,
                Field::Int(n) => Value::Integer(*n),
                Field::Real(x) => Value::Real(*x),
                Field::Text(text) => Value::Text(text.clone()),
                Field::Blob(bytes) => Value::Blob(bytes.clone()),
            });
            stmt.execute(rusqlite::params_from_iter(values))
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    fn id_floor(&self, table: &str) -> Result<i64> {
        let sql = format!(
            "SELECT max(coalesce((SELECT max(id) FROM {table}), 0),
                        coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?1), 0))"
        );
        self.tx
            .query_row(&sql, [table], |row| row.get(0))
            .map_err(|e| self.err(e))
    }

    fn set_id_floor(&self, table: &str, floor: i64) -> Result<()> {
        if !COUNTED.contains(&table) {
            return Ok(());
        }
        self.tx
            .execute("DELETE FROM sqlite_sequence WHERE name = ?1", [table])
            .and_then(|_| {
                self.tx.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)",
                    rusqlite::params![table, floor],
                )
            })
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn set_lineage_id(&self, lineage: &str) -> Result<()> {
        self.tx
            .execute("UPDATE lineage SET lineage = ?1 WHERE id = 1", [lineage])
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}
