"""Full authorization code + PKCE flows with a password sign-in and a remembered consent, as
flows per second: N processes, each a browser-like HTTP client following the pages. With
`totp` (a fifth argument), people with an authenticator app also type its code on the second
step, computed from their key (pyotp), each code once.

The client writes HTTP/1.1 to a socket and reads the answer itself, with a cookie jar: on these
shared 2 cores every millisecond the load generator spends is taken from the server (requests
cost ~4 ms of CPU per call here, Python's http.client ~0.8 ms, mostly parsing headers through
the email package; this client a fraction of that). It still does what a browser does: it
follows each redirect, reads the sign-in page for its CSRF token and `next`, posts the form with
the session cookie, and exchanges the code with its PKCE verifier; the harness reports its CPU
per flow beside the server's.
"""

import base64
import hashlib
import html
import json
import multiprocessing
import re
import secrets
import socket
import sys
import time
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pyotp


class Browser:
    """A cookie jar and one HTTP/1.1 request per connection (the server closes each one, as
    uWSGI's HTTP socket does), written to and read from the socket directly."""

    def __init__(self, base: str):
        parts = urlsplit(base)
        self.base, self.address = base, (parts.hostname, parts.port or 80)
        self.host = f"{parts.hostname}:{parts.port or 80}"
        self.cookies: dict[str, str] = {}

    def request(self, method: str, url: str, form: dict | None = None) -> tuple[int, dict, str]:
        target = urlsplit(urljoin(self.base, url))
        path = target.path + (f"?{target.query}" if target.query else "")
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", "Accept: text/html,application/json"]
        head.append("Connection: close")
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        body = b""
        if form is not None:
            body = urlencode(form).encode()
            head += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        with socket.create_connection(self.address, timeout=30) as connection:
            connection.sendall("\r\n".join(head).encode() + b"\r\n\r\n" + body)
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        raw_head, separator, content = b"".join(chunks).partition(b"\r\n\r\n")
        if not separator:
            raise ConnectionError(f"{method} {path}: the connection closed before the headers ended")
        status_line, *lines = raw_head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                key, _, cookie = value.split(";", 1)[0].partition("=")
                self.cookies[key.strip()] = cookie.strip()
            headers[name] = value
        if "chunked" in headers.get("transfer-encoding", ""):
            raise ValueError(f"{method} {path}: a chunked response (this client reads to the end)")
        if "content-length" in headers and int(headers["content-length"]) != len(content):
            raise ConnectionError(f"{method} {path}: {len(content)} of {headers['content-length']} bytes")
        return int(status_line.split(" ", 2)[1]), headers, content.decode()


class Authenticator:
    """A person's authenticator app: the code of each time step, each step used once and in
    order (the server refuses a code it has seen, and any older one)."""

    def __init__(self, secret: str):
        self.totp = pyotp.TOTP(secret)
        self.last_step = 0

    def code(self) -> str | None:
        """A code of the previous, current or next step not used yet, or None (wait)."""
        now = int(time.time()) // 30
        step = max(now - 1, self.last_step + 1)
        if step > now + 1:
            return None
        self.last_step = step
        return self.totp.at(step * 30)


def _hidden_fields(page: str) -> dict:
    return {k: html.unescape(v) for k, v in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page)}


def one_flow(web, fixtures: dict, email: str, authenticator: Authenticator | None = None) -> None:
    """One flow through `web`: a Browser here, or anything with the same `request` (the
    instruction counter's calls the WSGI application directly). Asserts every step. With an
    `authenticator`, the person's second step is its code."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    app = fixtures["app"]
    query = urlencode(
        {
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": app["redirect_uri"],
            "scope": "openid email",
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    status, headers, _ = web.request("GET", f"/oauth2/auth?{query}")
    assert status == 302, status
    status, _, page = web.request("GET", headers["location"])  # the sign-in page
    assert status == 200, status
    # The form's hidden fields as a browser sends them: the CSRF token, the login challenge.
    hidden = _hidden_fields(page)
    status, headers, _ = web.request(
        "POST", "/login", {**hidden, "email": email, "password": fixtures["password"]}
    )
    assert status == 302, status
    if authenticator is not None:
        assert urlsplit(headers["location"]).path == "/login/factor", headers["location"]
        status, _, page = web.request("GET", headers["location"])  # the second step's page
        assert status == 200, status
        code = authenticator.code()
        assert code is not None, "no unused code for this person in this step"
        fields = _hidden_fields(page)
        status, headers, _ = web.request(
            "POST",
            "/login/factor",
            {
                "csrfmiddlewaretoken": fields["csrfmiddlewaretoken"],
                "login_challenge": fields["login_challenge"],
                "method": "totp",
                "code": code,
            },
        )
        assert status == 302, status
    # As a browser, follow the server's own redirects, if any: the sign-in completes the
    # authorization request itself, and a remembered consent shows no page.
    redirect = urlsplit(headers["location"])
    for _ in range(3):
        if redirect.netloc:
            break
        status, headers, _ = web.request("GET", headers["location"])
        assert status == 302, status
        redirect = urlsplit(headers["location"])
    assert f"{redirect.scheme}://{redirect.netloc}{redirect.path}" == app["redirect_uri"], redirect
    callback = parse_qs(redirect.query)
    assert callback["state"] == ["s"], callback
    status, _, body = web.request(
        "POST",
        "/oauth2/token",
        {
            "grant_type": "authorization_code",
            "code": callback["code"][0],
            "redirect_uri": app["redirect_uri"],
            "client_id": app["client_id"],
            "code_verifier": verifier,
        },
    )
    token = json.loads(body)
    assert status == 200 and "id_token" in token and "access_token" in token, body


def worker(args) -> tuple[list[float], int]:
    base, fixtures, deadline, index, workers, totp = args
    if totp:
        people = [(email, Authenticator(secret)) for email, secret in fixtures["totp_users"][index::workers]]
    else:
        people = [(email, None) for email in fixtures["flow_users"][index::workers]]
    durations, errors, n = [], 0, 0
    while time.time() < deadline:
        email, authenticator = people[n % len(people)]
        if authenticator is not None and authenticator.last_step >= int(time.time()) // 30 + 1:
            n += 1  # this person's codes of now are spent: the next person
            continue
        started = time.perf_counter()
        try:
            one_flow(Browser(base), fixtures, email, authenticator)
            durations.append((time.perf_counter() - started) * 1000)
        except Exception:  # noqa: BLE001 - counted, reported
            errors += 1
        n += 1
    return durations, errors


def main() -> None:
    base, fixtures_path, duration, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    totp = sys.argv[5:6] == ["totp"]
    with open(fixtures_path) as handle:
        fixtures = json.load(handle)
    started = time.time()
    deadline = started + duration
    with multiprocessing.Pool(workers) as pool:
        results = pool.map(worker, [(base, fixtures, deadline, i, workers, totp) for i in range(workers)])
    elapsed = time.time() - started
    durations = sorted(d for r in results for d in r[0])
    errors = sum(r[1] for r in results)

    def pct(p: float) -> float:
        return durations[min(len(durations) - 1, int(len(durations) * p))] if durations else 0.0

    print(
        json.dumps(
            {
                "flows": len(durations),
                "flows_per_s": len(durations) / elapsed,
                "p50": pct(0.5),
                "p99": pct(0.99),
                "errors": errors,
                "workers": workers,
                "duration": elapsed,
            }
        )
    )


if __name__ == "__main__":
    main()
