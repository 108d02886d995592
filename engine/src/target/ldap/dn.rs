//! Just enough of RFC 4514 DNs for writes: the first RDN and the parent
//! (a rename sends them apart), the RDN's attribute values (an add must
//! carry them), and a comparable form (is a rename a move? is this member
//! the same DN?), which the layer above uses too: servers give DNs back
//! in their own spelling.

/// Splits `dn` at its first unescaped comma: (first RDN, parent DN).
pub fn split(dn: &str) -> (&str, &str) {
    match unescaped(dn, b',') {
        Some(i) => (dn[..i].trim(), dn[i + 1..].trim()),
        None => (dn.trim(), ""),
    }
}

/// The (attribute, value) pairs of an RDN such as `uid=a` or `cn=a+sn=b`,
/// values unescaped.
pub fn rdn_values(rdn: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = rdn;
    loop {
        let (part, next) = match unescaped(rest, b'+') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        if let Some((attr, value)) = part.split_once('=') {
            out.push((attr.trim().to_string(), unescape(value.trim())));
        }
        match next {
            Some(n) => rest = n,
            None => return out,
        }
    }
}

/// A form of `dn` for comparing two DNs: attribute types and values
/// lowercased, spaces around separators dropped, escapes resolved.
pub fn normalize(dn: &str) -> String {
    let mut rdns = Vec::new();
    let mut rest = dn.trim();
    while !rest.is_empty() {
        let (rdn, parent) = split(rest);
        let mut pairs: Vec<String> = rdn_values(rdn)
            .into_iter()
            .map(|(a, v)| format!("{}={}", a.to_lowercase(), v.to_lowercase()))
            .collect();
        pairs.sort();
        rdns.push(pairs.join("+"));
        rest = parent;
    }
    rdns.join(",")
}

/// The byte offset of the first `sep` not escaped by a backslash.
fn unescaped(s: &str, sep: u8) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == sep => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Resolves `\,`-style and `\2c`-style escapes.
fn unescape(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let hex = value
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(b) => {
                    out.push(b);
                    i += 3;
                }
                None => {
                    out.push(bytes[i + 1]);
                    i += 2;
                }
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dn_splits_at_its_first_unescaped_comma() {
        assert_eq!(
            split("uid=a,ou=school1,dc=example,dc=org"),
            ("uid=a", "ou=school1,dc=example,dc=org")
        );
        assert_eq!(split(r"cn=Doe\, Jane,ou=p"), (r"cn=Doe\, Jane", "ou=p"));
        assert_eq!(split("dc=org"), ("dc=org", ""));
    }

    #[test]
    fn rdn_values_are_unescaped_and_multi_valued_rdns_split() {
        assert_eq!(
            rdn_values(r"cn=Doe\, Jane+sn=D\c3\bcrr"),
            vec![
                ("cn".to_string(), "Doe, Jane".to_string()),
                ("sn".to_string(), "Dürr".to_string())
            ]
        );
    }

    #[test]
    fn normalized_dns_ignore_case_and_spacing() {
        assert_eq!(
            normalize("UID=A, OU=School1,dc=Example,dc=org"),
            normalize("uid=a,ou=school1,dc=example,dc=org")
        );
        assert_ne!(normalize("uid=a,ou=school1"), normalize("uid=a,ou=school2"));
    }
}
