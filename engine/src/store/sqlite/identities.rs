//! [`Identities`] in SQLite.

use rusqlite::params;

use super::SqliteTx;
use crate::store::{Identities, Identity, IdentityKind, Result, StoreError, fold};

impl SqliteTx<'_> {
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
                "SELECT EXISTS (SELECT 1 FROM emails INDEXED BY emails_by_person
                  WHERE person_id = ?1 AND type = ?2 AND folded = ?3 AND verified = 1)"
            }
            IdentityKind::Identifier => {
                "SELECT EXISTS (SELECT 1 FROM identifiers INDEXED BY identifiers_by_person
                  WHERE person_id = ?1 AND type = ?2 AND value = ?3 AND active = 1)"
            }
        };
        self.tx
            .prepare_cached(sql)
            .and_then(|mut stmt| {
                stmt.query_row(params![person, type_name, value], |row| row.get(0))
            })
            .map_err(|e| self.err(e))
    }

    /// Tells the in-memory lookup, when a first load uses one, that
    /// `person` now holds the identity.
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

    fn identities_where(
        &self,
        filter: &str,
        args: impl rusqlite::Params + Copy,
    ) -> Result<Vec<Identity>> {
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
            let mut stmt = self.tx.prepare_cached(&sql).map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map(args, |row| {
                    Ok(Identity {
                        kind,
                        type_name: row.get(0)?,
                        value: row.get(1)?,
                        usable: row.get(2)?,
                    })
                })
                .map_err(|e| self.err(e))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(|e| self.err(e))?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Whether the record's identity rows are exactly `given`, all on
    /// `person`: then syncing would leave every row as it is.
    fn identities_unchanged(&self, person: i64, record: i64, given: &[Identity]) -> Result<bool> {
        let mut stored = Vec::with_capacity(given.len());
        for (kind, sql) in [
            (
                IdentityKind::Email,
                "SELECT type, address, verified, person_id FROM emails
                  WHERE record_id = ?1 ORDER BY id",
            ),
            (
                IdentityKind::Identifier,
                "SELECT type, value, active, person_id FROM identifiers WHERE record_id = ?1",
            ),
        ] {
            let mut stmt = self.tx.prepare_cached(sql).map_err(|e| self.err(e))?;
            let mut rows = stmt.query([record]).map_err(|e| self.err(e))?;
            while let Some(row) = rows.next().map_err(|e| self.err(e))? {
                if row.get::<_, i64>(3).map_err(|e| self.err(e))? != person {
                    return Ok(false);
                }
                stored.push(Identity {
                    kind,
                    type_name: row.get(0).map_err(|e| self.err(e))?,
                    value: row.get(1).map_err(|e| self.err(e))?,
                    usable: row.get(2).map_err(|e| self.err(e))?,
                });
            }
        }
        // Emails are rewritten in the source's order when it changes (the
        // first is the primary); identifiers keep their rows, so their
        // order is not compared.
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

    fn insert_identities(&self, person: i64, record: i64, given: &[Identity]) -> Result<()> {
        for identity in given {
            match identity.kind {
                IdentityKind::Email => {
                    self.tx
                        .prepare_cached(
                            "INSERT INTO emails (person_id, type, address, folded, verified, record_id)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        )
                        .and_then(|mut stmt| {
                            stmt.execute(params![
                                person,
                                identity.type_name,
                                identity.value,
                                fold(&identity.value),
                                identity.usable,
                                record
                            ])
                        })
                        .map_err(|e| self.err(e))?;
                    self.note_identity(person, identity);
                }
                IdentityKind::Identifier => {
                    self.tx
                        .prepare_cached(
                            "INSERT INTO identifiers (person_id, type, value, active, record_id)
                             VALUES (?1, ?2, ?3, 1, ?4)",
                        )
                        .and_then(|mut stmt| {
                            stmt.execute(params![
                                person,
                                identity.type_name,
                                identity.value,
                                record
                            ])
                        })
                        .map_err(|e| self.err(e))?;
                    self.note_identity(person, identity);
                }
            }
        }
        Ok(())
    }
}

impl Identities for SqliteTx<'_> {
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
                  WHERE type = ?1 AND folded = ?2 AND verified = 1 ORDER BY person_id"
            }
            IdentityKind::Identifier => {
                "SELECT DISTINCT person_id FROM identifiers
                  WHERE type = ?1 AND value = ?2 AND active = 1 ORDER BY person_id"
            }
        };
        let mut stmt = self.tx.prepare_cached(sql).map_err(|e| self.err(e))?;
        let ids = stmt
            .query_map([type_name, value], |row| row.get(0))
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<i64>>>()
            .map_err(|e| self.err(e))?;
        Ok(ids)
    }

    fn record_identities(&self, pipeline: &str, key: &str) -> Result<Vec<Identity>> {
        match self.record_id(pipeline, key)? {
            Some(record) => self.identities_where("record_id = ?1", params![record]),
            None => Ok(Vec::new()),
        }
    }

    fn person_identities(&self, person: i64) -> Result<Vec<Identity>> {
        self.identities_where("person_id = ?1", params![person])
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
            return self.insert_identities(person, record, given);
        }
        // Most updates change a name or a list, not an address: rewriting
        // identical rows would dirty a page of each identity index.
        if self.identities_unchanged(person, record, given)? {
            return Ok(());
        }
        self.tx
            .prepare_cached("DELETE FROM emails WHERE record_id = ?1")
            .and_then(|mut stmt| stmt.execute([record]))
            .map_err(|e| self.err(e))?;
        self.tx
            .prepare_cached(
                "UPDATE identifiers SET active = 0, person_id = ?2 WHERE record_id = ?1",
            )
            .and_then(|mut stmt| stmt.execute(params![record, person]))
            .map_err(|e| self.err(e))?;
        for identity in given {
            match identity.kind {
                IdentityKind::Email => {
                    self.insert_identities(person, record, std::slice::from_ref(identity))?;
                }
                IdentityKind::Identifier => {
                    let updated = self
                        .tx
                        .prepare_cached(
                            "UPDATE identifiers SET active = 1
                              WHERE record_id = ?1 AND type = ?2 AND value = ?3",
                        )
                        .and_then(|mut stmt| {
                            stmt.execute(params![record, identity.type_name, identity.value])
                        })
                        .map_err(|e| self.err(e))?;
                    if updated == 0 {
                        self.insert_identities(person, record, std::slice::from_ref(identity))?;
                    } else {
                        // Active again, and possibly on another person.
                        self.note_identity(person, identity);
                    }
                }
            }
        }
        Ok(())
    }
}
