//! Finding the person a new key belongs to: first the same key in another
//! pipeline of the same system, then the pipeline's match strategy. Person
//! status is ignored throughout. Several candidates are never resolved on a
//! guess: the record is held and every candidate reported, unless the
//! pipeline says `on-ambiguous=oldest|newest`.

use serde_json::Value;

use super::report::{Ambiguous, Candidate, Link, LinkedBy, MAX_REPORTED};
use super::{RegistryError, Result, Session, config::Strategy, public};
use crate::store::{Identity, IdentityKind};
use rollcall_model::OnAmbiguous;

/// What matching a new key found.
pub(super) enum Found {
    /// No one: a new person.
    New,
    /// This person.
    Person(i64),
    /// Several, and the pipeline holds such records.
    Held,
}

impl Session<'_, '_> {
    pub(super) fn find_person(
        &mut self,
        key: &str,
        line: u64,
        values: &[Value],
        identities: &[Identity],
    ) -> Result<Found> {
        let config = self.config;
        if self.shared_system {
            let linked = self.ledger.without_purged(self.tx.system_links(
                &config.system,
                key,
                &config.pipeline,
            )?);
            if !linked.is_empty() {
                return self.decide(key, line, "system", LinkedBy::System, Vec::new(), linked);
            }
        }
        match &config.strategy {
            Strategy::None => Ok(Found::New),
            Strategy::Identity { kind, type_name } => {
                let matched: Vec<Identity> = identities
                    .iter()
                    .filter(|i| i.kind == *kind && &i.type_name == type_name)
                    .cloned()
                    .collect();
                let mut candidates = Vec::new();
                for identity in &matched {
                    candidates.extend(self.identity_candidates(
                        *kind,
                        type_name,
                        &identity.match_value(),
                    )?);
                }
                candidates.sort_unstable();
                candidates.dedup();
                let by = match kind {
                    IdentityKind::Email => LinkedBy::Email,
                    IdentityKind::Identifier => LinkedBy::Identifier,
                };
                self.decide(key, line, config.strategy.word(), by, matched, candidates)
            }
            Strategy::External { .. } => {
                let external = self.external.as_ref().expect("resolved with the session");
                let body = serde_json::json!({
                    "pipeline": config.pipeline,
                    "system": config.system,
                    "key": key,
                    "record": Value::Object(self.attributes_of(values)),
                })
                .to_string();
                let mut candidates = external.ask(key, &body)?;
                candidates.sort_unstable();
                candidates.dedup();
                for person in &candidates {
                    if self.ledger.writer.purged(*person) || self.tx.person(*person)?.is_none() {
                        return Err(RegistryError::UnknownPerson {
                            matcher: external.name(),
                            key: key.to_owned(),
                            person: *person,
                        });
                    }
                }
                self.decide(
                    key,
                    line,
                    "external",
                    LinkedBy::External,
                    Vec::new(),
                    candidates,
                )
            }
        }
    }

    /// Persons holding a matchable identity, as the store plus this plan's
    /// pending writes have it.
    pub(super) fn identity_candidates(
        &self,
        kind: IdentityKind,
        type_name: &str,
        value: &str,
    ) -> Result<Vec<i64>> {
        let found = self.tx.identity_candidates(kind, type_name, value)?;
        let identity = (kind, type_name.to_owned(), value.to_owned());
        let found = self.ledger.writer.amend_candidates(identity, found);
        Ok(self.ledger.without_purged(found))
    }

    fn decide(
        &mut self,
        key: &str,
        line: u64,
        word: &str,
        by: LinkedBy,
        values: Vec<Identity>,
        candidates: Vec<i64>,
    ) -> Result<Found> {
        match candidates.as_slice() {
            [] => Ok(Found::New),
            [person] => {
                self.link(key, line, *person, by, Vec::new(), None);
                Ok(Found::Person(*person))
            }
            many => {
                let described = self.describe(many)?;
                // Stored persons by id (creation order), then those this plan creates.
                let order = |p: &i64| if *p > 0 { (0, *p) } else { (1, -*p) };
                let chosen = match self.config.on_ambiguous {
                    OnAmbiguous::Hold => {
                        let report = &mut self.ledger.report;
                        if report.ambiguous.len() < MAX_REPORTED {
                            report.ambiguous.push(Ambiguous {
                                key: key.to_owned(),
                                line,
                                by: word.to_owned(),
                                values,
                                candidates: described,
                            });
                        }
                        return Ok(Found::Held);
                    }
                    OnAmbiguous::Oldest => (many.iter().min_by_key(|p| order(p)), "oldest"),
                    OnAmbiguous::Newest => (many.iter().max_by_key(|p| order(p)), "newest"),
                };
                let person = *chosen.0.expect("several candidates");
                self.link(key, line, person, by, described, Some(chosen.1));
                Ok(Found::Person(person))
            }
        }
    }

    fn link(
        &mut self,
        key: &str,
        line: u64,
        person: i64,
        by: LinkedBy,
        candidates: Vec<Candidate>,
        chosen: Option<&'static str>,
    ) {
        let ledger = &mut self.ledger;
        ledger.linked_by = Some(by.as_str());
        if ledger.collect && ledger.report.links.len() < MAX_REPORTED {
            ledger.report.links.push(Link {
                key: key.to_owned(),
                line,
                person: public(person),
                by,
                candidates,
                chosen: chosen.map(str::to_owned),
            });
        }
    }

    fn describe(&self, persons: &[i64]) -> Result<Vec<Candidate>> {
        persons
            .iter()
            .map(|&person| {
                let stored = if person > 0 {
                    self.tx.person(person)?
                } else {
                    None
                };
                let status = self
                    .ledger
                    .person_state(person)?
                    .map(|s| s.status)
                    .unwrap_or_else(|| "active".into());
                Ok(Candidate {
                    person: public(person),
                    status,
                    created_run: stored.map(|p| p.created_run),
                })
            })
            .collect()
    }
}
