#!/usr/bin/env python3
"""The benchmark's peer: the same sync job done by a general SQL engine.

Reads a staff-SSO extract (gzip JSON Lines, the record under "object"), maps
the fields pipelines/staff-sso.kdl maps (trim, lowercase, the email list
lowercased and sorted, the applications' keys sorted), diffs them against the
snapshot stored by the previous run, and stores the new snapshot, in one
transaction of a DuckDB file. Prints the counts rollcall prints, so the
harness can check that both did the same work:

    created=N updated=N removed=N unchanged=N

Usage: duckdb_sync.py EXTRACT STATE   (pip install duckdb)
"""
import sys

import duckdb

MAPPED = """
    SELECT object."dit:StaffSSO:User:userId"                       AS user_id,
           lower(trim(object."dit:StaffSSO:User:emailUserId"))      AS email_user_id,
           lower(trim(object."dit:StaffSSO:User:contactEmailAddress")) AS contact_email,
           trim(object."dit:firstName")                             AS first_name,
           trim(object."dit:lastName")                              AS last_name,
           object."dit:StaffSSO:User:status"                        AS status,
           list_sort(list_transform(object."dit:emailAddress", lambda e: lower(e))) AS emails,
           list_sort(list_transform(object."dit:StaffSSO:User:permittedApplications",
                                    lambda a: a."key"))                   AS permitted_applications
      FROM read_json(?, format = 'newline_delimited', compression = 'gzip',
                     columns = {'object': 'STRUCT(
                         "dit:StaffSSO:User:userId" VARCHAR,
                         "dit:StaffSSO:User:emailUserId" VARCHAR,
                         "dit:StaffSSO:User:contactEmailAddress" VARCHAR,
                         "dit:firstName" VARCHAR,
                         "dit:lastName" VARCHAR,
                         "dit:StaffSSO:User:status" VARCHAR,
                         "dit:emailAddress" VARCHAR[],
                         "dit:StaffSSO:User:permittedApplications" STRUCT("key" VARCHAR)[])'})
"""

FIELDS = [
    "email_user_id",
    "contact_email",
    "first_name",
    "last_name",
    "status",
    "emails",
    "permitted_applications",
]


def main(extract: str, state: str) -> None:
    con = duckdb.connect(state)
    con.execute("BEGIN")
    con.execute(f"CREATE TEMP TABLE incoming AS {MAPPED}", [extract])
    con.execute(
        "CREATE TABLE IF NOT EXISTS snapshot AS SELECT * FROM incoming WITH NO DATA"
    )
    differs = " OR ".join(f"s.{f} IS DISTINCT FROM i.{f}" for f in FIELDS)
    created, updated, removed, unchanged = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE s.user_id IS NULL),
               count(*) FILTER (WHERE s.user_id IS NOT NULL AND i.user_id IS NOT NULL AND ({differs})),
               count(*) FILTER (WHERE i.user_id IS NULL),
               count(*) FILTER (WHERE s.user_id IS NOT NULL AND i.user_id IS NOT NULL AND NOT ({differs}))
          FROM snapshot s FULL OUTER JOIN incoming i ON s.user_id = i.user_id
        """
    ).fetchone()
    con.execute("DELETE FROM snapshot")
    con.execute("INSERT INTO snapshot SELECT * FROM incoming")
    con.execute("COMMIT")
    con.close()
    print(f"created={created} updated={updated} removed={removed} unchanged={unchanged}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
