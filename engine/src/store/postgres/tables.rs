//! [`Tables`] in PostgreSQL: rows read by their columns' types, written by
//! binary `COPY` in the destination's types.

use postgres::Row;
use postgres::types::Type;

use super::PgTx;
use super::copy::Cell;
use crate::store::{EachRow, Field, Result, Tables};

/// The order rows were written in: by id, else by the order checks were
/// written (`seq`), else by key.
fn order(table: &str, columns: &[&str]) -> String {
    match table {
        "run_checks" => "run_id, seq".into(),
        "pipelines" => "name".into(),
        "frozen_attributes" => "person_id, attribute".into(),
        "target_objects" => "target, system, kind, key".into(),
        _ if columns.contains(&"id") => "id".into(),
        _ => "1".into(),
    }
}

fn field(row: &Row, at: usize) -> Field {
    let ty = row.columns()[at].type_();
    let or_null = |value: Option<Field>| value.unwrap_or(Field::Null);
    match *ty {
        Type::INT8 => or_null(row.get::<_, Option<i64>>(at).map(Field::Int)),
        Type::INT4 => or_null(row.get::<_, Option<i32>>(at).map(|n| Field::Int(n.into()))),
        Type::BOOL => or_null(row.get::<_, Option<bool>>(at).map(|b| Field::Int(b.into()))),
        Type::FLOAT8 => or_null(row.get::<_, Option<f64>>(at).map(Field::Real)),
        Type::BYTEA => or_null(row.get::<_, Option<Vec<u8>>>(at).map(Field::Blob)),
        _ => or_null(row.get::<_, Option<String>>(at).map(Field::Text)),
    }
}

/// `field` as the destination column's type wants it.
fn cell(field: &Field, ty: &Type) -> Cell {
    match (field, ty) {
        (Field::Null, _) if *ty == Type::FLOAT8 => Cell::Real(None),
        (Field::Null, _) if *ty == Type::BOOL => Cell::Int(None),
        (Field::Null, _) if *ty == Type::BYTEA => Cell::Bytes(None),
        (Field::Null, _) if *ty == Type::INT8 => Cell::Int(None),
        (Field::Null, _) => Cell::Text(None),
        (Field::Int(n), _) if *ty == Type::BOOL => Cell::Bool(*n != 0),
        (Field::Int(n), _) if *ty == Type::FLOAT8 => Cell::Real(Some(*n as f64)),
        (Field::Int(n), _) => Cell::Int(Some(*n)),
        (Field::Real(x), _) => Cell::Real(Some(*x)),
        (Field::Text(text), _) => Cell::Text(Some(text.clone())),
        (Field::Blob(bytes), _) => Cell::Bytes(Some(bytes.clone())),
    }
}

impl Tables for PgTx<'_> {
    fn table_rows(&self, table: &str, columns: &[&str], each: &mut EachRow<'_>) -> Result<()> {
        let sql = format!(
            "SELECT {} FROM {table} ORDER BY {}",
            columns.join(", "),
            order(table, columns)
        );
        self.each_row(&sql, &[], |row| {
            each((0..columns.len()).map(|at| field(row, at)).collect())
        })
    }

    fn insert_table_rows(&self, table: &str, columns: &[&str], rows: &[Vec<Field>]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.flush()?;
        let probe = format!("SELECT {} FROM {table} LIMIT 0", columns.join(", "));
        let types: Vec<Type> = self
            .prepared(&probe)?
            .columns()
            .iter()
            .map(|column| column.type_().clone())
            .collect();
        let cells: Vec<Vec<Cell>> = rows
            .iter()
            .map(|row| row.iter().zip(&types).map(|(f, ty)| cell(f, ty)).collect())
            .collect();
        let sql = format!(
            "COPY {table} ({}) FROM STDIN (FORMAT binary)",
            columns.join(", ")
        );
        self.copy_rows(&sql, &types, &cells)
    }

    fn id_floor(&self, table: &str) -> Result<i64> {
        let sql = "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence($1, 'id')::regclass), 0)";
        Ok(self.row(sql, &[&table])?.map_or(0, |row| row.get(0)))
    }

    fn set_id_floor(&self, table: &str, floor: i64) -> Result<()> {
        if floor > 0 {
            self.row(
                "SELECT setval(pg_get_serial_sequence($1, 'id')::regclass, $2)",
                &[&table, &floor],
            )?;
        }
        Ok(())
    }

    fn set_lineage_id(&self, lineage: &str) -> Result<()> {
        self.exec("UPDATE lineage SET lineage = $1 WHERE id = 1", &[&lineage])?;
        Ok(())
    }
}
