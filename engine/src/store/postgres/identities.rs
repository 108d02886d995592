//! [`Identities`] in PostgreSQL.

use super::PgTx;
use super::copy::{Cell, Table};
use crate::store::{Identities, Identity, IdentityKind, Result, StoreError, fold};

impl PgTx<'_> {
    /// Whether `person` holds the identity in a form matching may use: the
    /// exact test of [`Identities::identity_candidates`], through the person's rows.
    fn holds_identity(
        &self,
        kind: IdentityKind,
        type_name: &str,
        value: &str,
        person: i64,
    ) -> Result<bool> {
        let sql = match kind {
            IdentityKind::Email => {
                "SELECT EXISTS (SELECT 1 FROM emails
                  WHERE person_id = $1 AND type = $2 AND folded = $3 AND verified)"
            }
            IdentityKind::Identifier => {
                "SELECT EXISTS (SELECT 1 FROM identifiers
                  WHERE person_id = $1 AND type = $2 AND value = $3 AND active)"
            }
        };
        Ok(self
            .row(sql, &[&person, &type_name, &value])?
            .is_some_and(|row| row.get(0)))
    }

    /// Tells the first load's lookup, when there is one, that `person`
    /// now holds the identity.
    fn note_identity(&self, person: i64, identity: &Identity) {
        if let Some(lookup) = self.identity_lookup.borrow_mut().as_mut() {
            lookup.add(
                identity.kind,
                &identity.type_name,
                &identity.match_value(),
                person,
            );
        }
    }

    fn identities_where(&self, filter: &str, id: i64) -> Result<Vec<Identity>> {
        let mut out = Vec::new();
        for (kind, sql) in [
            (
                IdentityKind::Email,
                format!("SELECT type, address, verified FROM emails WHERE {filter} ORDER BY id"),
            ),
            (
                IdentityKind::Identifier,
                format!("SELECT type, value, active FROM identifiers WHERE {filter} ORDER BY id"),
            ),
        ] {
            out.extend(self.rows(&sql, &[&id])?.iter().map(|row| Identity {
                kind,
                type_name: row.get(0),
                value: row.get(1),
                usable: row.get(2),
            }));
        }
        Ok(out)
    }

    /// Whether the record's identity rows are exactly `given`, all on
    /// `person` (see SQLite's twin for why emails compare in order).
    fn identities_unchanged(&self, person: i64, record: i64, given: &[Identity]) -> Result<bool> {
        let mut stored = Vec::with_capacity(given.len());
        for (kind, sql) in [
            (
                IdentityKind::Email,
                "SELECT type, address, verified, person_id FROM emails
                  WHERE record_id = $1 ORDER BY id",
            ),
            (
                IdentityKind::Identifier,
                "SELECT type, value, active, person_id FROM identifiers WHERE record_id = $1",
            ),
        ] {
            for row in self.rows(sql, &[&record])? {
                if row.get::<_, i64>(3) != person {
                    return Ok(false);
                }
                stored.push(Identity {
                    kind,
                    type_name: row.get(0),
                    value: row.get(1),
                    usable: row.get(2),
                });
            }
        }
        let (mut given_ids, given_emails): (Vec<Identity>, Vec<Identity>) = given
            .iter()
            .cloned()
            .partition(|i| i.kind == IdentityKind::Identifier);
        let (mut stored_ids, stored_emails): (Vec<Identity>, Vec<Identity>) = stored
            .into_iter()
            .partition(|i| i.kind == IdentityKind::Identifier);
        given_ids.sort_unstable();
        stored_ids.sort_unstable();
        Ok(given_emails == stored_emails && given_ids == stored_ids)
    }

    fn insert_identity(&self, person: i64, record: i64, identity: &Identity) -> Result<()> {
        self.note_identity(person, identity);
        let text = |value: &str| Cell::Text(Some(value.to_owned()));
        match identity.kind {
            IdentityKind::Email => self.hold(
                Table::Emails,
                vec![
                    Cell::Int(Some(person)),
                    text(&identity.type_name),
                    text(&identity.value),
                    text(&fold(&identity.value)),
                    Cell::Bool(identity.usable),
                    Cell::Int(Some(record)),
                ],
            ),
            IdentityKind::Identifier => self.hold(
                Table::Identifiers,
                vec![
                    Cell::Int(Some(person)),
                    text(&identity.type_name),
                    text(&identity.value),
                    Cell::Bool(true),
                    Cell::Int(Some(record)),
                ],
            ),
        }
        Ok(())
    }
}

impl Identities for PgTx<'_> {
    fn identity_candidates(
        &self,
        kind: IdentityKind,
        type_name: &str,
        value: &str,
    ) -> Result<Vec<i64>> {
        let possible = self
            .identity_lookup
            .borrow()
            .as_ref()
            .and_then(|lookup| lookup.candidates(kind, type_name, value));
        if let Some(mut possible) = possible {
            possible.sort_unstable();
            possible.dedup();
            let mut holders = Vec::with_capacity(possible.len());
            for person in possible {
                if self.holds_identity(kind, type_name, value, person)? {
                    holders.push(person);
                }
            }
            return Ok(holders);
        }
        let sql = match kind {
            IdentityKind::Email => {
                "SELECT DISTINCT person_id FROM emails
                  WHERE type = $1 AND folded = $2 AND verified ORDER BY person_id"
            }
            IdentityKind::Identifier => {
                "SELECT DISTINCT person_id FROM identifiers
                  WHERE type = $1 AND value = $2 AND active ORDER BY person_id"
            }
        };
        Ok(self
            .rows(sql, &[&type_name, &value])?
            .iter()
            .map(|row| row.get(0))
            .collect())
    }

    fn record_identities(&self, pipeline: &str, key: &str) -> Result<Vec<Identity>> {
        match self.record_id(pipeline, key)? {
            Some(record) => self.identities_where("record_id = $1", record),
            None => Ok(Vec::new()),
        }
    }

    fn person_identities(&self, person: i64) -> Result<Vec<Identity>> {
        self.identities_where("person_id = $1", person)
    }

    fn sync_identities(
        &self,
        person: i64,
        pipeline: &str,
        key: &str,
        given: &[Identity],
        fresh: bool,
    ) -> Result<()> {
        let record = self
            .record_id(pipeline, key)?
            .ok_or_else(|| StoreError::NoRecord {
                path: self.path.to_owned(),
                what: "identities",
                pipeline: pipeline.to_owned(),
                key: key.to_owned(),
            })?;
        if fresh {
            for identity in given {
                self.insert_identity(person, record, identity)?;
            }
            return Ok(());
        }
        if self.identities_unchanged(person, record, given)? {
            return Ok(());
        }
        self.exec("DELETE FROM emails WHERE record_id = $1", &[&record])?;
        self.exec(
            "UPDATE identifiers SET active = FALSE, person_id = $2 WHERE record_id = $1",
            &[&record, &person],
        )?;
        for identity in given {
            let reactivated = match identity.kind {
                IdentityKind::Email => 0,
                IdentityKind::Identifier => self.exec(
                    "UPDATE identifiers SET active = TRUE
                      WHERE record_id = $1 AND type = $2 AND value = $3",
                    &[&record, &identity.type_name, &identity.value],
                )?,
            };
            if reactivated == 0 {
                self.insert_identity(person, record, identity)?;
            } else {
                // Active again, and possibly on another person.
                self.note_identity(person, identity);
            }
        }
        Ok(())
    }
}
