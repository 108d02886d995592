//! The LDAP directory against a real OpenLDAP `slapd` on loopback
//! (testkit): every scenario runs in its own OU and asserts the writes the
//! server's accesslog recorded for it.

use std::collections::BTreeMap;

use rollcall_engine::target::ldap::{ConnectError, LdapDirectory, LdapSettings};
use rollcall_engine::target::{Attributes, Directory, Object, ObjectKind, Operation};
use rollcall_testkit::slapd::{self, ACCOUNT_PASSWORD, Area};

fn settings(area: &Area) -> LdapSettings {
    let server = slapd::server();
    let mut s = LdapSettings::new(
        "school-ldap",
        server.url(),
        &area.bind_dn,
        ACCOUNT_PASSWORD,
        &area.base,
    );
    s.group_base = Some(area.ou("groups"));
    s
}

fn attrs(pairs: &[(&str, &[&str])]) -> Attributes {
    pairs
        .iter()
        .map(|(a, vs)| (a.to_string(), vs.iter().map(|v| v.to_string()).collect()))
        .collect()
}

fn create(kind: ObjectKind, name: &str, attributes: Attributes) -> Operation {
    Operation::Create {
        kind,
        name: name.to_string(),
        attributes,
    }
}

fn person(uid: &str, ou: &str) -> Operation {
    create(
        ObjectKind::Person,
        &format!("uid={uid},{ou}"),
        attrs(&[("cn", &[uid]), ("sn", &[uid])]),
    )
}

fn modify(kind: ObjectKind, id: &str, replace: Attributes) -> Operation {
    Operation::Modify {
        kind,
        id: id.to_string(),
        version: None,
        replace,
    }
}

fn rename(id: &str, name: &str) -> Operation {
    Operation::Rename {
        kind: ObjectKind::Person,
        id: id.to_string(),
        name: name.to_string(),
    }
}

fn ops(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(o, d)| (o.to_string(), d.to_string()))
        .collect()
}

fn by_dn(objects: Vec<Object>) -> BTreeMap<String, Object> {
    objects.into_iter().map(|o| (o.id.clone(), o)).collect()
}

/// Seeds `n` persons as the rootdn (not counted as the area's writes).
fn seed_persons(area: &Area, ou: &str, n: usize) {
    for i in 0..n {
        let uid = format!("p{i:03}");
        area.seed(
            &format!("uid={uid},{ou}"),
            &[
                ("objectClass", &["inetOrgPerson"]),
                ("uid", &[&uid]),
                ("cn", &[&uid]),
                ("sn", &[&uid]),
            ],
        );
    }
}

#[test]
fn a_person_is_created_modified_moved_between_schools_sent_to_limbo_and_deleted() {
    let area = slapd::server().area();
    let (school1, school2, limbo) = (area.ou("school1"), area.ou("school2"), area.ou("limbo"));
    let mut dir = LdapDirectory::connect(&settings(&area)).unwrap();
    let dn1 = format!("uid=jdoe,{school1}");
    let created = dir
        .apply(&create(
            ObjectKind::Person,
            &dn1,
            attrs(&[
                ("cn", &["Jane Doe"]),
                ("sn", &["Doe"]),
                ("mail", &["jane@example.org"]),
            ]),
        ))
        .unwrap();
    assert_eq!(created, dn1);
    let listed = by_dn(dir.list().unwrap());
    let jane = &listed[&dn1];
    assert_eq!(jane.kind, ObjectKind::Person);
    assert_eq!(
        jane.attributes["uid"],
        vec!["jdoe"],
        "the RDN's value is added"
    );
    assert_eq!(jane.attributes["objectClass"], vec!["inetOrgPerson"]);
    let uuid = area.entry(&dn1).unwrap()["entryUUID"].clone();

    let changed = attrs(&[
        ("mail", &["jane.doe@example.org"]),
        ("title", &[]),
        ("description", &["7b"]),
    ]);
    assert_eq!(
        dir.apply(&modify(ObjectKind::Person, &dn1, changed))
            .unwrap(),
        dn1
    );
    let jane = &by_dn(dir.list().unwrap())[&dn1];
    assert_eq!(jane.attributes["mail"], vec!["jane.doe@example.org"]);
    assert_eq!(jane.attributes["description"], vec!["7b"]);
    let removed = attrs(&[("description", &[])]);
    dir.apply(&modify(ObjectKind::Person, &dn1, removed))
        .unwrap();
    assert!(
        !by_dn(dir.list().unwrap())[&dn1]
            .attributes
            .contains_key("description")
    );

    let dn2 = format!("uid=jdoe,{school2}");
    assert_eq!(
        dir.apply(&rename(&dn1, &dn2)).unwrap(),
        dn2,
        "a school move returns the new DN"
    );
    assert_eq!(
        area.entry(&dn2).unwrap()["entryUUID"],
        uuid,
        "the move keeps the entry"
    );
    assert!(area.entry(&dn1).is_none());
    assert_eq!(
        dir.apply(&rename(&dn2, &dn2.to_uppercase())).unwrap(),
        dn2,
        "no write for the same DN"
    );

    let in_limbo = format!("uid=jdoe,{limbo}");
    dir.apply(&rename(&dn2, &in_limbo)).unwrap();
    assert_eq!(area.entry(&in_limbo).unwrap()["entryUUID"], uuid);
    let listed = by_dn(dir.list().unwrap());
    assert_eq!(
        listed.keys().collect::<Vec<_>>(),
        vec![&in_limbo],
        "limbo is listed: not a leaver"
    );

    let deleted = Operation::Delete {
        kind: ObjectKind::Person,
        id: in_limbo.clone(),
        version: None,
    };
    assert_eq!(dir.apply(&deleted).unwrap(), in_limbo);
    assert!(dir.list().unwrap().is_empty());
    assert_eq!(
        area.operations(),
        ops(&[
            ("add", &dn1),
            ("modify", &dn1),
            ("modify", &dn1),
            ("modrdn", &dn1),
            ("modrdn", &dn2),
            ("delete", &in_limbo),
        ])
    );
}

#[test]
fn a_rename_of_the_rdn_in_the_same_ou_drops_the_old_value() {
    let area = slapd::server().area();
    let school = area.ou("school1");
    let mut dir = LdapDirectory::connect(&settings(&area)).unwrap();
    let old = format!("uid=jdoe,{school}");
    let new = format!("uid=jane.doe,{school}");
    dir.apply(&person("jdoe", &school)).unwrap();
    assert_eq!(dir.apply(&rename(&old, &new)).unwrap(), new);
    let listed = by_dn(dir.list().unwrap());
    assert_eq!(listed[&new].attributes["uid"], vec!["jane.doe"]);
    assert_eq!(area.operations(), ops(&[("add", &old), ("modrdn", &old)]));
}

#[test]
fn a_group_is_created_empty_gets_members_and_is_emptied_again() {
    let area = slapd::server().area();
    let school = area.ou("school1");
    let s = settings(&area);
    let groups = s.group_base.clone().unwrap();
    let mut dir = LdapDirectory::connect(&s).unwrap();
    let (a, b) = (format!("uid=a,{school}"), format!("uid=b,{school}"));
    dir.apply(&person("a", &school)).unwrap();
    dir.apply(&person("b", &school)).unwrap();
    let class = format!("cn=class-7b,{groups}");
    dir.apply(&create(ObjectKind::Group, &class, Attributes::new()))
        .unwrap();
    let group = by_dn(dir.list().unwrap())[&class].clone();
    assert_eq!(group.kind, ObjectKind::Group);
    assert!(
        !group.attributes.contains_key("member"),
        "the placeholder is not listed"
    );
    assert_eq!(
        area.entry(&class).unwrap()["member"],
        vec![rollcall_engine::target::ldap::EMPTY_GROUP_MEMBER],
        "groupOfNames holds the placeholder"
    );

    let members = attrs(&[("member", &[&a, &b])]);
    dir.apply(&modify(ObjectKind::Group, &class, members))
        .unwrap();
    let group = by_dn(dir.list().unwrap())[&class].clone();
    let mut listed = group.attributes["member"].clone();
    listed.sort();
    assert_eq!(listed, vec![a.clone(), b.clone()]);

    dir.apply(&modify(
        ObjectKind::Group,
        &class,
        attrs(&[("member", &[&b])]),
    ))
    .unwrap();
    assert_eq!(
        by_dn(dir.list().unwrap())[&class].attributes["member"],
        vec![b.clone()]
    );
    dir.apply(&modify(
        ObjectKind::Group,
        &class,
        attrs(&[("member", &[])]),
    ))
    .unwrap();
    assert!(
        !by_dn(dir.list().unwrap())[&class]
            .attributes
            .contains_key("member")
    );
    assert_eq!(
        area.operations(),
        ops(&[
            ("add", &a),
            ("add", &b),
            ("add", &class),
            ("modify", &class),
            ("modify", &class),
            ("modify", &class),
        ])
    );
}

#[test]
fn a_listing_cut_short_by_the_size_limit_is_an_error_never_a_shorter_list() {
    let area = slapd::server().area();
    let school = area.ou("school1");
    seed_persons(&area, &school, 12);
    let mut s = settings(&area);
    s.bind_dn = area.account_with_limits("limited", "size=5");
    s.page_size = 4;
    let err = LdapDirectory::connect(&s).unwrap().list().unwrap_err();
    assert_eq!(err.target, "school-ldap");
    assert!(err.reason.contains("sizeLimitExceeded (4)"), "{err}");
    assert!(err.reason.contains(&area.base), "names the base: {err}");
    // The same limit without paging cuts the search at once.
    s.page_size = 50;
    let err = LdapDirectory::connect(&s).unwrap().list().unwrap_err();
    assert!(err.reason.contains("sizeLimitExceeded (4)"), "{err}");
    // A page larger than the account may ask for is refused outright.
    s.bind_dn = area.account_with_limits("small-pages", "size.pr=3");
    s.page_size = 10;
    let err = LdapDirectory::connect(&s).unwrap().list().unwrap_err();
    assert!(err.reason.contains("adminLimitExceeded (11)"), "{err}");
    assert!(area.attempts().is_empty(), "listings write nothing");
}

#[test]
fn a_paged_listing_of_more_entries_than_a_page_is_complete() {
    let area = slapd::server().area();
    let (school1, school2) = (area.ou("school1"), area.ou("school2"));
    seed_persons(&area, &school1, 12);
    seed_persons(&area, &school2, 11);
    let mut s = settings(&area);
    s.page_size = 5;
    let listed = LdapDirectory::connect(&s).unwrap().list().unwrap();
    assert_eq!(listed.len(), 23);
    // Paging goes past a per-search size limit the server lets pages exceed.
    s.bind_dn = area.account_with_limits("pager", "size=5 size.prtotal=unlimited");
    s.page_size = 4;
    let listed = LdapDirectory::connect(&s).unwrap().list().unwrap();
    assert_eq!(listed.len(), 23);
    assert!(area.attempts().is_empty(), "listings write nothing");
}

#[test]
fn a_refused_object_names_the_request_and_the_answer_and_the_next_one_succeeds() {
    let area = slapd::server().area();
    let school = area.ou("school1");
    let mut dir = LdapDirectory::connect(&settings(&area)).unwrap();
    let (a, b, c) = (
        format!("uid=a,{school}"),
        format!("uid=b,{school}"),
        format!("uid=c,{school}"),
    );
    dir.apply(&person("a", &school)).unwrap();
    let duplicate = dir.apply(&person("a", &school)).unwrap_err();
    assert_eq!(duplicate.request, format!("add {a}"));
    assert!(
        duplicate.answer.starts_with("entryAlreadyExists (68)"),
        "{duplicate}"
    );
    assert!(!duplicate.transient);
    let schema = create(
        ObjectKind::Person,
        &b,
        attrs(&[
            ("cn", &["b"]),
            ("sn", &["b"]),
            ("favouriteColour", &["blue"]),
        ]),
    );
    let violation = dir.apply(&schema).unwrap_err();
    assert_eq!(violation.request, format!("add {b}"));
    assert!(
        violation.answer.starts_with("undefinedAttributeType (17)"),
        "{violation}"
    );
    let single = modify(
        ObjectKind::Person,
        &a,
        attrs(&[("preferredLanguage", &["de", "en"])]),
    );
    let refused = dir.apply(&single).unwrap_err();
    assert_eq!(
        refused.request,
        format!("modify {a} (replace preferredLanguage)")
    );
    assert!(
        refused.answer.starts_with("constraintViolation (19)"),
        "{refused}"
    );
    dir.apply(&person("c", &school)).unwrap();
    assert_eq!(area.operations(), ops(&[("add", &a), ("add", &c)]));
    // Schema checks refuse before the database (and its accesslog) sees
    // the request; the duplicate reached it and was refused there.
    let codes: Vec<u32> = area.attempts().into_iter().map(|(_, _, rc)| rc).collect();
    assert_eq!(codes, vec![0, 68, 0]);
}

#[test]
fn a_wrong_password_is_a_bind_error_with_advice_and_without_the_password() {
    let area = slapd::server().area();
    let mut s = settings(&area);
    s.password = "hunter2-wrong".to_string();
    let err = LdapDirectory::connect(&s).unwrap_err();
    assert!(
        matches!(err, ConnectError::InvalidCredentials { .. }),
        "{err:?}"
    );
    let shown = format!("{err} {err:?}");
    assert!(
        shown.contains(&area.bind_dn) && shown.contains("invalidCredentials (49)"),
        "{shown}"
    );
    assert!(!shown.contains("hunter2"), "the password leaked: {shown}");
    let help = miette::Diagnostic::help(&err).unwrap().to_string();
    assert_eq!(help, "check bind-dn and the password's env variable");
    assert!(
        !format!("{s:?}").contains("hunter2"),
        "settings' Debug hides the password"
    );
}

#[test]
fn a_closed_port_is_refused_and_a_bad_scheme_is_named() {
    let area = slapd::server().area();
    let mut s = settings(&area);
    s.url = format!("ldap://127.0.0.1:{}", rollcall_testkit::free_port());
    let err = LdapDirectory::connect(&s).unwrap_err();
    assert!(matches!(err, ConnectError::Refused { .. }), "{err:?}");
    s.url = "http://127.0.0.1:389".to_string();
    let err = LdapDirectory::connect(&s).unwrap_err();
    assert!(matches!(err, ConnectError::BadUrl { .. }), "{err:?}");
}

#[test]
fn ldaps_and_starttls_work_with_the_ca_file_and_fail_without_it() {
    let server = slapd::server();
    let area = server.area();
    let school = area.ou("school1");
    let plain = settings(&area);
    let mut s = plain.clone();
    s.url = server.ldaps_url().to_string();
    let err = LdapDirectory::connect(&s).unwrap_err();
    assert!(
        matches!(err, ConnectError::Tls { .. }),
        "untrusted certificate: {err:?}"
    );
    s.ca_file = Some(server.ca_file().to_path_buf());
    let mut dir = LdapDirectory::connect(&s).unwrap();
    dir.apply(&person("a", &school)).unwrap();
    assert_eq!(dir.list().unwrap().len(), 1);

    let mut s = plain;
    s.starttls = true;
    s.ca_file = Some(server.ca_file().to_path_buf());
    let mut dir = LdapDirectory::connect(&s).unwrap();
    dir.apply(&person("b", &school)).unwrap();
    assert_eq!(dir.list().unwrap().len(), 2);
    let (a, b) = (format!("uid=a,{school}"), format!("uid=b,{school}"));
    assert_eq!(area.operations(), ops(&[("add", &a), ("add", &b)]));
}

/// A loopback TCP relay to the server whose open connections can be cut
/// (as a network failure or a server restart would) while it keeps
/// accepting new ones.
struct Relay {
    url: String,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Relay {
    fn to(upstream: &str) -> Relay {
        use std::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ldap://{}", listener.local_addr().unwrap());
        let addr = upstream.trim_start_matches("ldap://").to_string();
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = open.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let server = TcpStream::connect(&addr).unwrap();
                let mut all = kept.lock().unwrap();
                all.push(client.try_clone().unwrap());
                all.push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Relay { url, open }
    }

    fn cut(&self) {
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

#[test]
fn a_lost_connection_is_a_transient_failure_and_the_next_operation_reconnects() {
    let server = slapd::server();
    let area = server.area();
    let school = area.ou("school1");
    let relay = Relay::to(server.url());
    let mut s = settings(&area);
    s.url = relay.url.clone();
    s.timeout = std::time::Duration::from_secs(5);
    let mut dir = LdapDirectory::connect(&s).unwrap();
    dir.apply(&person("a", &school)).unwrap();
    relay.cut();
    let lost = dir.apply(&person("b", &school)).unwrap_err();
    assert!(lost.transient, "{lost}");
    assert_eq!(lost.request, format!("add uid=b,{school}"));
    // Sent again, the same operation goes through a new connection, once.
    dir.apply(&person("b", &school)).unwrap();
    relay.cut();
    assert!(
        dir.list().is_err(),
        "a listing over a lost connection is incomplete"
    );
    assert_eq!(dir.list().unwrap().len(), 2);
    let (a, b) = (format!("uid=a,{school}"), format!("uid=b,{school}"));
    assert_eq!(area.operations(), ops(&[("add", &a), ("add", &b)]));
}
