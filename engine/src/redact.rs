//! The one rule for showing a URL or a command line that may carry a
//! secret: user information (`user:password@`) and the values of query
//! parameters (`?token=...`) are never shown; the scheme, host, port, path
//! and parameter names are, so an operator can still tell which endpoint
//! failed. Every message, log line, stored error and notification that
//! names a matcher, webhook, S3 endpoint, SFTP or SMTP server goes through
//! [`url`] (or [`command`] for a command line).

/// What replaces a hidden part.
pub const HIDDEN: &str = "***";

/// `text` with its user information and query values hidden, when it looks
/// like a URL (`scheme://...`); a bare `user@host` loses its user part too.
/// Anything else is returned as it is.
pub fn url(text: &str) -> String {
    let (scheme, rest) = match text.find("://") {
        Some(at) => (&text[..at + 3], &text[at + 3..]),
        None => ("", text),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => format!("{HIDDEN}@{}", &authority[at + 1..]),
        None => authority.to_owned(),
    };
    let (path, query) = match tail.find('?') {
        Some(at) => (&tail[..at], Some(&tail[at + 1..])),
        None => (tail, None),
    };
    let mut shown = format!("{scheme}{authority}{path}");
    if let Some(query) = query {
        let (query, fragment) = query.split_once('#').unwrap_or((query, ""));
        shown.push('?');
        let hidden: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) => format!("{name}={HIDDEN}"),
                None if pair.is_empty() => String::new(),
                None => HIDDEN.to_owned(),
            })
            .collect();
        shown.push_str(&hidden.join("&"));
        if !fragment.is_empty() {
            shown.push('#');
            shown.push_str(HIDDEN);
        }
    }
    shown
}

/// A command line with every URL in it shown by [`url`], and the value of
/// every `NAME=value` word or `--option=value` whose name suggests a secret
/// (token, secret, password, key, auth) hidden.
pub fn command(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            if word.contains("://") {
                return url(word);
            }
            match word.split_once('=') {
                Some((name, _)) if secret_name(name) => format!("{name}={HIDDEN}"),
                _ => word.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `message` with every occurrence of `raw` (a URL or host as resolved)
/// replaced by what [`url`] shows of it: for errors from libraries that
/// repeat what they were given.
pub fn within(message: &str, raw: &str) -> String {
    if raw.is_empty() {
        return message.to_owned();
    }
    message.replace(raw, &url(raw))
}

fn secret_name(name: &str) -> bool {
    let name = name.trim_start_matches('-').to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "passwd",
        "key",
        "auth",
        "signature",
        "credential",
    ]
    .iter()
    .any(|word| name.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_information_and_query_values_are_never_shown() {
        assert_eq!(
            url("https://bob:hunter2@match.example.org:8443/v1/find?token=abc&mode=fast#frag"),
            "https://***@match.example.org:8443/v1/find?token=***&mode=***#***"
        );
        assert_eq!(url("http://127.0.0.1:9/match"), "http://127.0.0.1:9/match");
        assert_eq!(url("feed:pw@sftp.example.org"), "***@sftp.example.org");
        assert_eq!(url("smtp.example.org"), "smtp.example.org");
        assert_eq!(url("http://h/?flag"), "http://h/?***");
    }

    #[test]
    fn commands_hide_urls_and_secret_looking_settings() {
        assert_eq!(
            command("./match.sh --url=https://h/x?api_key=s3cr3t TOKEN=abc --mode=fast"),
            "./match.sh --url=https://h/x?api_key=*** TOKEN=*** --mode=fast"
        );
        assert_eq!(
            within(
                "failed to reach http://u:p@h/a?k=v now",
                "http://u:p@h/a?k=v"
            ),
            "failed to reach http://***@h/a?k=*** now"
        );
    }
}
