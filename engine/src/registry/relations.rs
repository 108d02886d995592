//! Manager and sponsor links: a role names another person by an identifier
//! of a configured type. Links are resolved at the end of a run, so a
//! manager listed later in the same extract is found; one that no single
//! person holds leaves the link empty and is reported, never failing the
//! record. Earlier unresolved links of the pipeline are retried each run.

use super::report::{MAX_REPORTED, Unresolved};
use super::{Result, Session, is_live, public};
use crate::store::{IdentityKind, LinkRef, Relation};

/// A link to resolve at the end of the run.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    /// The role (`None`: one a plan creates).
    pub role: Option<i64>,
    /// The record giving the role.
    pub key: String,
    /// Which `role` declaration.
    pub ordinal: i64,
    /// The role's person.
    pub holder: i64,
    /// Manager or sponsor.
    pub relation: Relation,
    /// The identifier to look up.
    pub reference: LinkRef,
}

impl Session<'_, '_> {
    pub(super) fn resolve_links(&mut self) -> Result<()> {
        let mut pending = std::mem::take(&mut self.pending);
        let seen: std::collections::HashSet<(String, i64)> =
            pending.iter().map(|p| (p.key.clone(), p.ordinal)).collect();
        for role in self.tx.unresolved_roles(&self.config.pipeline)? {
            if seen.contains(&(role.source_key.clone(), role.ordinal)) || !is_live(&role.status) {
                continue;
            }
            for (relation, link, resolved) in [
                (
                    Relation::Manager,
                    &role.values.manager,
                    role.manager_person_id,
                ),
                (
                    Relation::Sponsor,
                    &role.values.sponsor,
                    role.sponsor_person_id,
                ),
            ] {
                if let (Some(link), None) = (link, resolved) {
                    pending.push(Pending {
                        role: Some(role.id),
                        key: role.source_key.clone(),
                        ordinal: role.ordinal,
                        holder: role.person_id,
                        relation,
                        reference: link.clone(),
                    });
                }
            }
        }
        for link in pending {
            let candidates = self.identity_candidates(
                IdentityKind::Identifier,
                &link.reference.type_name,
                &link.reference.value,
            )?;
            let resolved = match candidates.as_slice() {
                [person] => Some(*person),
                _ => None,
            };
            if let Some(role) = link.role {
                self.ledger.writer.set_role_link(
                    role,
                    link.relation,
                    resolved.filter(|p| *p > 0),
                )?;
            }
            let report = &mut self.ledger.report;
            if resolved.is_none() && report.unresolved.len() < MAX_REPORTED {
                report.unresolved.push(Unresolved {
                    key: link.key,
                    person: public(link.holder),
                    role: link.role,
                    ordinal: link.ordinal,
                    relation: link.relation,
                    reference: link.reference,
                    candidates: candidates.into_iter().map(public).collect(),
                });
            }
        }
        Ok(())
    }
}
