"""scim2-server for rollcall's tests, with a log of every request and
switches that make its listing fail or end early.

Usage: python3 server.py PORT STATE_DIR [--bearer-token TOKEN]

Every request (but the test's own, sent with X-Test-Client) is appended to STATE_DIR/requests.log as one line
``METHOD PATH STATUS`` (written before the response is returned, so a test
that reads the log after its client got an answer sees the line). While the
file STATE_DIR/fail-listing exists, a listing of /v2/Users or /v2/Groups
answers 500; while STATE_DIR/short-listing exists, a listing page leaves out
its last resource but keeps totalResults (a page limit that cuts it short).
While STATE_DIR/throttle-once exists, the next request answers 429 with
Retry-After: 1 and the file is removed.
"""

import json
import os
import sys
import threading

from scim2_server.testserver import cli

PORT = sys.argv[1]
STATE = sys.argv[2]
LOG = os.path.join(STATE, "requests.log")
LOCK = threading.Lock()


def is_listing(environ):
    path = environ.get("PATH_INFO", "")
    return environ["REQUEST_METHOD"] == "GET" and path.rstrip("/") in ("/v2/Users", "/v2/Groups")


def log(line):
    with LOCK, open(LOG, "a") as f:
        f.write(line + "\n")
        f.flush()


def middleware(app):
    def inner(environ, start_response):
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        if query:
            path = path + "?" + query
        if environ.get("HTTP_X_TEST_CLIENT"):
            # The test's own look at the server: never switched, never logged.
            return app(environ, start_response)
        throttle = os.path.join(STATE, "throttle-once")
        if os.path.exists(throttle):
            os.remove(throttle)
            log(f"{method} {path} 429")
            start_response("429 Too Many Requests", [("Retry-After", "1"), ("Content-Type", "application/scim+json")])
            return [b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"429"}']
        if is_listing(environ) and os.path.exists(os.path.join(STATE, "fail-listing")):
            log(f"{method} {path} 500")
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"listing switched off by the test"]
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"] = status
            captured["headers"] = headers
            return lambda data: None

        body = b"".join(app(environ, capture))
        status = captured["status"]
        headers = captured["headers"]
        if is_listing(environ) and os.path.exists(os.path.join(STATE, "short-listing")):
            document = json.loads(body)
            resources = document.get("Resources") or []
            if resources:
                document["Resources"] = resources[:-1]
                document["itemsPerPage"] = len(document["Resources"])
            body = json.dumps(document).encode()
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        log(f"{method} {path} {status.split()[0]}")
        start_response(status, headers)
        return [body]

    return inner


original = cli.make_server


def make_server(host, port, app, server_class):
    return original(host, port, middleware(app), server_class=server_class)


cli.make_server = make_server
sys.argv = ["scim2-server", "--hostname", "127.0.0.1", "--port", PORT] + sys.argv[3:]
cli.main()
