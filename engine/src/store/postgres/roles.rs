//! [`Roles`] in PostgreSQL.

use postgres::Row;

use super::PgTx;
use super::copy::{Cell, Table};
use super::schema::TIMED_ROLES;
use crate::store::{LinkRef, Relation, Result, RoleRow, RoleStatusRow, RoleValues, Roles};

const ROLE_COLUMNS: &str =
    "id, person_id, pipeline, source_key, ordinal, system, scope_kind, scope,
     affiliation, ou, title, valid_from, valid_until, manager_type, manager_ref, manager_person_id,
     sponsor_type, sponsor_ref, sponsor_person_id, status, status_since, grace_until, status_after,
     member";

/// The condition of `unresolved_roles`, spelled as the partial index
/// `roles_unresolved` is, so the planner can use it.
const UNRESOLVED: &str =
    "pipeline = $1 AND ((manager_ref IS NOT NULL AND manager_person_id IS NULL)
                     OR (sponsor_ref IS NOT NULL AND sponsor_person_id IS NULL))
     ORDER BY source_key, ordinal";

fn link_parts(link: &Option<LinkRef>) -> (Option<&str>, Option<&str>) {
    (
        link.as_ref().map(|l| l.type_name.as_str()),
        link.as_ref().map(|l| l.value.as_str()),
    )
}

fn role_from_row(row: &Row) -> RoleRow {
    let link = |t: usize, v: usize| match (
        row.get::<_, Option<String>>(t),
        row.get::<_, Option<String>>(v),
    ) {
        (Some(type_name), Some(value)) => Some(LinkRef { type_name, value }),
        _ => None,
    };
    RoleRow {
        id: row.get(0),
        person_id: row.get(1),
        pipeline: row.get(2),
        source_key: row.get(3),
        ordinal: row.get(4),
        system: row.get(5),
        scope_kind: row.get(6),
        scope: row.get(7),
        values: RoleValues {
            affiliation: row.get(8),
            ou: row.get(9),
            title: row.get(10),
            valid_from: row.get(11),
            valid_until: row.get(12),
            manager: link(13, 14),
            sponsor: link(16, 17),
        },
        manager_person_id: row.get(15),
        sponsor_person_id: row.get(18),
        status: row.get(19),
        status_since: row.get(20),
        grace_until: row.get(21),
        status_after: row.get(22),
        member: row.get(23),
    }
}

impl PgTx<'_> {
    fn roles_where(
        &self,
        filter: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<RoleRow>> {
        let sql = format!("SELECT {ROLE_COLUMNS} FROM roles WHERE {filter}");
        Ok(self.rows(&sql, params)?.iter().map(role_from_row).collect())
    }
}

impl Roles for PgTx<'_> {
    fn roles_of_record(&self, pipeline: &str, key: &str) -> Result<Vec<RoleRow>> {
        self.roles_where(
            "pipeline = $1 AND source_key = $2 ORDER BY ordinal, member",
            &[&pipeline, &key],
        )
    }

    fn roles_of_person(&self, person: i64) -> Result<Vec<RoleRow>> {
        self.roles_where("person_id = $1 ORDER BY id", &[&person])
    }

    fn role(&self, id: i64) -> Result<Option<RoleRow>> {
        Ok(self.roles_where("id = $1", &[&id])?.into_iter().next())
    }

    fn roles_due(&self, now: &str, system: Option<&str>) -> Result<Vec<RoleRow>> {
        self.roles_where(
            "status = 'grace-period' AND grace_until IS NOT NULL AND grace_until <= $1
               AND ($2::text IS NULL OR system = $2) ORDER BY id",
            &[&now, &system],
        )
    }

    fn timed_roles(&self, pipeline: &str) -> Result<Vec<RoleRow>> {
        self.roles_where(TIMED_ROLES, &[&pipeline])
    }

    fn unresolved_roles(&self, pipeline: &str) -> Result<Vec<RoleRow>> {
        self.roles_where(UNRESOLVED, &[&pipeline])
    }

    fn insert_role(
        &self,
        person: i64,
        pipeline: &str,
        key: &str,
        (ordinal, member): (i64, &str),
        system: &str,
        scope: Option<(&str, &str)>,
        values: &RoleValues,
        (status, since): (&str, &str),
    ) -> Result<i64> {
        let (manager_type, manager_ref) = link_parts(&values.manager);
        let (sponsor_type, sponsor_ref) = link_parts(&values.sponsor);
        let text = |value: Option<&str>| Cell::Text(value.map(str::to_owned));
        let id = self.next_id(Table::Roles)?;
        self.hold(
            Table::Roles,
            vec![
                Cell::Int(Some(id)),
                Cell::Int(Some(person)),
                text(Some(pipeline)),
                text(Some(key)),
                Cell::Int(Some(ordinal)),
                text(Some(system)),
                text(scope.map(|s| s.0)),
                text(scope.map(|s| s.1)),
                text(values.affiliation.as_deref()),
                text(values.ou.as_deref()),
                text(values.title.as_deref()),
                text(values.valid_from.as_deref()),
                text(values.valid_until.as_deref()),
                text(manager_type),
                text(manager_ref),
                text(sponsor_type),
                text(sponsor_ref),
                text(Some(status)),
                text(Some(since)),
                text(Some(member)),
            ],
        );
        Ok(id)
    }

    fn set_role_values(&self, id: i64, person: i64, values: &RoleValues) -> Result<()> {
        let (manager_type, manager_ref) = link_parts(&values.manager);
        let (sponsor_type, sponsor_ref) = link_parts(&values.sponsor);
        self.exec(
            "UPDATE roles SET person_id = $2, affiliation = $3, ou = $4, title = $5,
                    valid_from = $6, valid_until = $7,
                    manager_person_id = CASE WHEN manager_type IS NOT DISTINCT FROM $8::text
                                              AND manager_ref IS NOT DISTINCT FROM $9::text
                                             THEN manager_person_id END,
                    manager_type = $8, manager_ref = $9,
                    sponsor_person_id = CASE WHEN sponsor_type IS NOT DISTINCT FROM $10::text
                                              AND sponsor_ref IS NOT DISTINCT FROM $11::text
                                             THEN sponsor_person_id END,
                    sponsor_type = $10, sponsor_ref = $11
              WHERE id = $1",
            &[
                &id,
                &person,
                &values.affiliation,
                &values.ou,
                &values.title,
                &values.valid_from,
                &values.valid_until,
                &manager_type,
                &manager_ref,
                &sponsor_type,
                &sponsor_ref,
            ],
        )?;
        Ok(())
    }

    fn set_role_status(&self, id: i64, status: &RoleStatusRow) -> Result<()> {
        self.exec(
            "UPDATE roles SET status = $2, status_since = $3, grace_until = $4, status_after = $5
              WHERE id = $1",
            &[
                &id,
                &status.status,
                &status.since,
                &status.grace_until,
                &status.status_after,
            ],
        )?;
        Ok(())
    }

    fn set_role_link(&self, id: i64, relation: Relation, person: Option<i64>) -> Result<()> {
        let sql = match relation {
            Relation::Manager => "UPDATE roles SET manager_person_id = $2 WHERE id = $1",
            Relation::Sponsor => "UPDATE roles SET sponsor_person_id = $2 WHERE id = $1",
        };
        self.exec(sql, &[&id, &person])?;
        Ok(())
    }

    fn role_of_person(&self, person: i64, id: i64) -> Result<Option<RoleRow>> {
        Ok(self.role(id)?.filter(|r| r.person_id == person))
    }

    fn role_exists(&self, id: i64) -> Result<bool> {
        Ok(self
            .row("SELECT 1 FROM roles WHERE id = $1", &[&id])?
            .is_some())
    }
}
