//! [`Persons`] in PostgreSQL.

use postgres::Row;
use serde_json::{Map, Value};

use super::PgTx;
use super::copy::{Cell, Table};
use crate::store::{PersonRow, PersonState, Persons, Records, Result};

/// A person's columns, read `FROM {PERSONS}`: attributes kept only in the
/// record that created them (`attributes` = '') are that record's fields.
const PERSON_COLUMNS: &str = "p.id, p.status,
     CASE WHEN p.attributes = '' THEN a.fields ELSE p.attributes END,
     p.limbo, p.created_run, p.updated_run, p.inactive_since, p.purge_at";

/// Persons with the record their attributes may be kept in.
const PERSONS: &str = "persons p LEFT JOIN source_records a ON a.id = p.attributes_from";

impl PgTx<'_> {
    fn person_from(&self, row: &Row) -> Result<PersonRow> {
        Ok(PersonRow {
            id: row.get(0),
            status: row.get(1),
            attributes: self.json(row.get::<_, Option<&str>>(2).unwrap_or("{}"))?,
            limbo: row.get(3),
            created_run: row.get(4),
            updated_run: row.get(5),
            inactive_since: row.get(6),
            purge_at: row.get(7),
        })
    }

    /// Keeps the attributes of the person just inserted in their first
    /// record only, when they are exactly its fields (as SQLite does).
    pub(super) fn share_attributes(&self, person: i64, record: i64, fields: &str) -> Result<()> {
        let inserted = self.last_person.borrow_mut().take();
        let same = matches!(&inserted, Some((id, text)) if *id == person && text == fields);
        if !same {
            return Ok(());
        }
        // Usually the person's row is still held back: amended, not updated.
        let amended = self.amend_last(Table::Persons, |row| {
            if !matches!(row[0], Cell::Int(Some(id)) if id == person) {
                return false;
            }
            row[2] = Cell::Text(Some(String::new()));
            row[5] = Cell::Int(Some(record));
            true
        });
        if !amended {
            self.exec(
                "UPDATE persons SET attributes = '', attributes_from = $2 WHERE id = $1",
                &[&person, &record],
            )?;
        }
        Ok(())
    }

    /// Before a record's fields change: a person keeping their attributes
    /// in it gets them written out in full.
    pub(super) fn unshare_attributes(&self, record: i64) -> Result<()> {
        self.exec(
            "UPDATE persons
                SET attributes = (SELECT fields FROM source_records WHERE id = $1),
                    attributes_from = NULL
              WHERE id = (SELECT person_id FROM source_records WHERE id = $1)
                AND attributes = '' AND attributes_from = $1",
            &[&record],
        )?;
        Ok(())
    }
}

impl Persons for PgTx<'_> {
    fn insert_person(&self, attributes: &Map<String, Value>, run: i64) -> Result<i64> {
        let text = Value::Object(attributes.clone()).to_string();
        let id = self.next_id(Table::Persons)?;
        self.hold(
            Table::Persons,
            vec![
                Cell::Int(Some(id)),
                Cell::Text(Some("active".into())),
                Cell::Text(Some(text.clone())),
                Cell::Int(Some(run)),
                Cell::Int(Some(run)),
                Cell::Int(None),
            ],
        );
        *self.last_person.borrow_mut() = Some((id, text));
        Ok(id)
    }

    fn person(&self, id: i64) -> Result<Option<PersonRow>> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM {PERSONS} WHERE p.id = $1");
        self.row(&sql, &[&id])?
            .map(|row| self.person_from(&row))
            .transpose()
    }

    fn set_person_attributes(
        &self,
        id: i64,
        attributes: &Map<String, Value>,
        run: i64,
    ) -> Result<()> {
        let text = Value::Object(attributes.clone()).to_string();
        self.exec(
            "UPDATE persons SET attributes = $2, attributes_from = NULL, updated_run = $3
              WHERE id = $1",
            &[&id, &text, &run],
        )?;
        Ok(())
    }

    fn set_person_state(&self, id: i64, state: &PersonState, run: i64) -> Result<()> {
        self.exec(
            "UPDATE persons SET status = $2, limbo = $3, inactive_since = $4, purge_at = $5,
                    updated_run = $6
              WHERE id = $1",
            &[
                &id,
                &state.status,
                &state.limbo,
                &state.inactive_since,
                &state.purge_at,
                &run,
            ],
        )?;
        Ok(())
    }

    fn persons_due(&self, now: &str, system: Option<&str>) -> Result<Vec<PersonRow>> {
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM {PERSONS}
              WHERE p.purge_at IS NOT NULL AND p.purge_at <= $1
                AND p.status NOT IN ('active', 'grace-period')
                AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM source_records r
                                                  WHERE r.person_id = p.id AND r.system = $2))
              ORDER BY p.id"
        );
        self.rows(&sql, &[&now, &system])?
            .iter()
            .map(|row| self.person_from(row))
            .collect()
    }

    fn delete_person(&self, id: i64) -> Result<()> {
        self.delete_records_of_person(id)?;
        self.exec("DELETE FROM persons WHERE id = $1", &[&id])?;
        Ok(())
    }
}
