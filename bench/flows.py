"""Full authorization code + PKCE flows with a password sign-in and a remembered consent, as
flows per second: N processes, each a browser-like HTTP client following the pages."""

import base64
import hashlib
import json
import multiprocessing
import re
import secrets
import sys
import time
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests


def one_flow(base: str, fixtures: dict, email: str) -> None:
    web = requests.Session()
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
    step = web.get(f"{base}/oauth2/auth?{query}", allow_redirects=False, timeout=30)
    login_page = web.get(urljoin(base, step.headers["Location"]), timeout=30)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
    nxt = re.search(r'name="next" value="([^"]*)"', login_page.text).group(1).replace("&amp;", "&")
    step = web.post(
        f"{base}/login",
        data={"csrfmiddlewaretoken": csrf, "email": email, "password": fixtures["password"], "next": nxt},
        allow_redirects=False,
        timeout=30,
    )
    assert step.status_code == 302, step.status_code
    step = web.get(urljoin(base, step.headers["Location"]), allow_redirects=False, timeout=30)
    code = parse_qs(urlsplit(step.headers["Location"]).query)["code"][0]  # remembered consent: no page
    token = web.post(
        f"{base}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": app["redirect_uri"],
            "client_id": app["client_id"],
            "code_verifier": verifier,
        },
        timeout=30,
    )
    assert token.status_code == 200 and "id_token" in token.json(), token.text


def worker(args) -> tuple[list[float], int]:
    base, fixtures, deadline, index, workers = args
    users = fixtures["flow_users"][index::workers]
    durations, errors, n = [], 0, 0
    while time.time() < deadline:
        started = time.perf_counter()
        try:
            one_flow(base, fixtures, users[n % len(users)])
            durations.append((time.perf_counter() - started) * 1000)
        except Exception:  # noqa: BLE001 - counted, reported
            errors += 1
        n += 1
    return durations, errors


def main() -> None:
    base, fixtures_path, duration, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with open(fixtures_path) as handle:
        fixtures = json.load(handle)
    started = time.time()
    deadline = started + duration
    with multiprocessing.Pool(workers) as pool:
        results = pool.map(worker, [(base, fixtures, deadline, i, workers) for i in range(workers)])
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
