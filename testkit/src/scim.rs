//! A SCIM 2.0 server for the tests: `scim2-server` (PyPI) on 127.0.0.1
//! with an ephemeral port, one per test, wrapped by `testkit/scim/server.py`
//! so that every request it answers is logged (the tests count writes) and
//! its listing can be made to fail or end early.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bearer token the servers started here accept.
pub const TOKEN: &str = "rollcall-scim-test-token";

/// A running SCIM server, stopped when dropped.
pub struct ScimServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

/// One request the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Status answered.
    pub status: u16,
}

/// Starts a server; panics saying how to install it when it cannot start.
pub fn start() -> ScimServer {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scim/server.py");
    let dir = tempfile::tempdir().expect("a temporary folder for the SCIM server");
    let python = std::env::var("ROLLCALL_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let check = Command::new(&python)
        .args(["-c", "import scim2_server.testserver.cli"])
        .output();
    match check {
        Ok(out) if out.status.success() => {}
        _ => panic!(
            "the SCIM tests need scim2-server: `pip install scim2-server` \
             (for {python}; ROLLCALL_TEST_PYTHON names another interpreter)"
        ),
    }
    let port = crate::free_port();
    let child = Command::new(&python)
        .arg(&script)
        .arg(port.to_string())
        .arg(dir.path())
        .args(["--bearer-token", TOKEN])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("server.err")).expect("server log"))
        .spawn()
        .unwrap_or_else(|e| {
            panic!("starting scim2-server ({python}): {e}; `pip install scim2-server`")
        });
    let server = ScimServer { child, port, dir };
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "scim2-server did not listen on port {port}: {}",
            std::fs::read_to_string(server.dir.path().join("server.err")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

impl ScimServer {
    /// The base URL the pipeline's `url` takes (`/Users` is below it).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v2", self.port)
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<Logged> {
        let text =
            std::fs::read_to_string(self.dir.path().join("requests.log")).unwrap_or_default();
        text.lines()
            .filter_map(|line| {
                let mut parts = line.splitn(3, ' ');
                let method = parts.next()?.to_owned();
                let path = parts.next()?.to_owned();
                let status = parts.next()?.parse().ok()?;
                Some(Logged {
                    method,
                    path,
                    status,
                })
            })
            .collect()
    }

    /// How many requests with this method were answered.
    pub fn count(&self, method: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method)
            .count()
    }

    /// The write requests (POST, PUT, PATCH, DELETE) answered.
    pub fn writes(&self) -> Vec<Logged> {
        self.requests()
            .into_iter()
            .filter(|r| matches!(r.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE"))
            .collect()
    }

    /// Starts the log afresh (what the next step sends is counted alone);
    /// [`ScimServer::totals`] still counts what came before.
    pub fn clear_log(&self) {
        let log = self.dir.path().join("requests.log");
        let earlier = std::fs::read_to_string(&log).unwrap_or_default();
        let all = self.dir.path().join("requests.all.log");
        let mut kept = std::fs::read_to_string(&all).unwrap_or_default();
        kept.push_str(&earlier);
        std::fs::write(all, kept).expect("keep the earlier log");
        let _ = std::fs::remove_file(log);
    }

    /// Requests per method since the server started, e.g.
    /// `GET 12, POST 4, PATCH 2, DELETE 1` (answered with any status).
    pub fn totals(&self) -> String {
        let all =
            std::fs::read_to_string(self.dir.path().join("requests.all.log")).unwrap_or_default();
        let now = std::fs::read_to_string(self.dir.path().join("requests.log")).unwrap_or_default();
        let text = all + &now;
        ["GET", "POST", "PATCH", "PUT", "DELETE"]
            .iter()
            .map(|m| {
                (
                    m,
                    text.lines()
                        .filter(|l| l.starts_with(&format!("{m} ")))
                        .count(),
                )
            })
            .filter(|(m, n)| *n > 0 || **m != "PUT")
            .map(|(m, n)| format!("{m} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Turns a switch of the wrapper on or off: `fail-listing`,
    /// `short-listing` or `throttle-once`.
    pub fn switch(&self, name: &str, on: bool) {
        let path = self.dir.path().join(name);
        if on {
            std::fs::write(path, b"on").expect("switch file");
        } else {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Sends a request directly (as another client of the service would),
    /// neither logged as rollcall's nor affected by the switches; the
    /// status and the body.
    pub fn http(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).expect("connect to scim2-server");
        let body = body.unwrap_or("");
        let request = format!(
            "{method} /v2{path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\nX-Test-Client: 1\r\n\
             Content-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .expect("send to scim2-server");
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .expect("read from scim2-server");
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// Every user the server holds, as JSON.
    pub fn users(&self) -> Vec<serde_json::Value> {
        self.resources("Users")
    }

    /// Every group the server holds, as JSON.
    pub fn groups(&self) -> Vec<serde_json::Value> {
        self.resources("Groups")
    }

    fn resources(&self, endpoint: &str) -> Vec<serde_json::Value> {
        let (status, body) = self.http("GET", &format!("/{endpoint}?count=1000"), None);
        assert_eq!(status, 200, "listing {endpoint}: {body}");
        let page: serde_json::Value = serde_json::from_str(&body).expect("a SCIM list response");
        page["Resources"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for ScimServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
