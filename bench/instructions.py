"""Instructions per request, counted by valgrind's callgrind: `make instructions`.

Timings on this shared VM move by 20-50 % from one minute to the next; instruction counts do not
(the same code counts the same to 0.3 %). Each scenario runs in its own process under
`valgrind --tool=callgrind`: the WSGI application is called in process with
the environ uWSGI would give it, warmed up, and collection is switched on around N requests only
(from inside the process, by callgrind's client request compiled into a small library).
The database is a fresh PostgreSQL one on 127.0.0.1 (dropped afterwards), so the statements are
the production ones.

    python bench/instructions.py                    every scenario
    python bench/instructions.py userinfo login_flow
    python bench/instructions.py login_steps        each request of the sign-in flow apart
"""

import base64
import io
import json
import os
import re
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import flows  # noqa: E402 - the harness's own flow
from run import PY, ROOT, manage, psql  # noqa: E402 - the harness's own helpers

SCENARIOS = (
    "health",
    "discovery",
    "client_credentials",
    "introspection",
    "userinfo",
    "refresh_rotation",
    "login_flow",
    "login_steps",
)
REQUESTS = {"refresh_rotation": 50, "login_flow": 20, "login_steps": 20}  # per scenario; 100 for the others
# login_steps counts each request of the sign-in flow apart (flows.one_flow's four requests).
STEPS = ("authorize", "sign-in page", "password POST (and the code, consent remembered)", "code exchange")
CALLBACK = "http://127.0.0.1:9/callback"
PASSWORD = "bench password 1234"


# --- Inside the measured process ---------------------------------------------------------------


def _environ(method: str, url: str, body: bytes = b"", headers: dict | None = None) -> dict:
    parts = urlsplit(url)
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "SCRIPT_NAME": "",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if body:
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


TOGGLE_SOURCE = "#include <valgrind/callgrind.h>\nvoid ciam_toggle(void) { CALLGRIND_TOGGLE_COLLECT; }\n"
_toggle = None  # the compiled client request, loaded in the measured process


def _collect(on: bool) -> None:
    """Switch collection on or off from inside the process (a few hundred instructions, so a
    single request can be counted apart), through callgrind's client request."""
    global _toggle
    if _toggle is None:
        import ctypes

        library = os.environ.get("CIAM_CALLGRIND_TOGGLE")
        _toggle = ctypes.CDLL(library).ciam_toggle if library else (lambda: None)  # not counting
    _toggle()


class WsgiBrowser:
    """flows.Browser's interface, calling the WSGI application directly; keeps cookies.
    `counted`: the index of the one request of each flow to count (login_steps), else None."""

    def __init__(self, application, counted: int | None = None):
        self.application, self.cookies = application, {}
        self.counted, self.sent = counted, 0

    def request(self, method: str, url: str, form: dict | None = None, headers: dict | None = None):
        counted, self.sent = self.sent == self.counted, self.sent + 1
        if counted:
            _collect(True)
        try:
            return self._request(method, url, form, headers)
        finally:
            if counted:
                _collect(False)

    def _request(self, method: str, url: str, form: dict | None, headers: dict | None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        answer = {}

        def start_response(status, response_headers, exc_info=None):
            answer["status"], answer["headers"] = int(status.split()[0]), response_headers

        body = urlencode(form).encode() if form else b""
        content = b"".join(self.application(_environ(method, url, body, headers), start_response))
        for name, value in answer["headers"]:
            if name.lower() == "set-cookie":
                cookie = SimpleCookie()
                cookie.load(value)
                self.cookies.update({key: morsel.value for key, morsel in cookie.items()})
        return answer["status"], {k.lower(): v for k, v in answer["headers"]}, content.decode()


def _basic(client_id: str, secret: str) -> str:
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def _request_maker(scenario: str, application, fixtures: dict):
    """A function making (and checking) one request of the scenario."""
    web = WsgiBrowser(application)

    def checked(method, url, form=None, headers=None, expect=200):
        def one():
            status, _, body = web.request(method, url, form, headers)
            assert status == expect, (scenario, status, body[:300])

        return one

    if scenario == "health":
        return checked("GET", "/health/alive")
    if scenario == "discovery":
        return checked("GET", "/.well-known/openid-configuration")
    if scenario == "client_credentials":
        auth = {"Authorization": _basic(*fixtures["cc"])}
        return checked("POST", "/oauth2/token", {"grant_type": "client_credentials"}, auth)
    if scenario == "introspection":
        auth = {"Authorization": _basic(*fixtures["rs"])}
        return checked("POST", "/oauth2/introspect", {"token": fixtures["probe_token"]}, auth)
    if scenario == "userinfo":
        return checked("GET", "/userinfo", headers={"Authorization": f"Bearer {fixtures['user_token']}"})
    if scenario == "refresh_rotation":
        tokens = iter(fixtures["refresh_tokens"])

        def rotate():
            form = {
                "grant_type": "refresh_token",
                "client_id": fixtures["app"]["client_id"],
                "refresh_token": next(tokens),
            }
            status, _, body = web.request("POST", "/oauth2/token", form)
            assert status == 200, body

        return rotate
    if scenario == "login_flow":
        users = iter(fixtures["flow_users"])
        return lambda: flows.one_flow(WsgiBrowser(application), fixtures, next(users))
    if scenario.startswith("login_steps:"):
        users, step = iter(fixtures["flow_users"]), int(scenario.partition(":")[2])
        return lambda: flows.one_flow(WsgiBrowser(application, counted=step), fixtures, next(users))
    raise SystemExit(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")


def measured(scenario: str, fixtures_path: str, count: int) -> None:
    """Run inside valgrind: warm up, then collect around `count` requests only."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ciam.settings")
    sys.path.insert(0, str(ROOT))
    from ciam.wsgi import application

    fixtures = json.loads(Path(fixtures_path).read_text())
    one = _request_maker(scenario, application, fixtures)
    for _ in range(10):
        one()
    # Instrument from here on; collect only between the toggles.
    subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], capture_output=True, check=True)
    if scenario.startswith("login_steps:"):  # the browser switches collection around its step
        for _ in range(count):
            one()
        return
    _collect(True)
    for _ in range(count):
        one()
    _collect(False)


# --- The runner ---------------------------------------------------------------------------------

SEED = """
import json, os, secrets, uuid
from datetime import timedelta
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from ciam.accounts.models import User
from ciam.lib.crypto import token_checksum
from ciam.oauth.keys import current_signing_key
from ciam.oauth.models import AccessToken, RefreshToken
from clients.services import client_create
from consent.models import Consent

current_signing_key()
cc = client_create(client_name="cc", grant_types=["client_credentials"], scope="email")
rs = client_create(client_name="rs", grant_types=["client_credentials"], scope="ciam:introspect")
app = client_create(client_name="app", token_endpoint_auth_method="none",
    grant_types=["authorization_code", "refresh_token"], scope="openid profile email",
    redirect_uris=[os.environ["CALLBACK"]]).client
password = make_password(os.environ["PASSWORD"])
users = [User.objects.create(email=f"user{n}@bench.example", password=password, name=f"User {n}")
         for n in range(40)]
for user in users:
    Consent.objects.create(user=user, client=app, scopes=["openid", "profile", "email"], remember=True)
expires = timezone.now() + timedelta(hours=1)
def access(client, user=None, scope="email"):
    raw = "ciam_at_" + secrets.token_urlsafe(32)
    row = AccessToken.objects.create(token_checksum=token_checksum(raw), token="", application=client,
        user=user, expires=expires, scope=scope, resource=[])
    return raw, row
refresh = []
for n in range(80):
    _, row = access(app, users[n % 40], "openid email")
    raw = "ciam_rt_" + secrets.token_urlsafe(32)
    RefreshToken.objects.create(token_checksum=token_checksum(raw), token="", application=app,
        user=users[n % 40], access_token=row, token_family=uuid.uuid4(), resource=[])
    refresh.append(raw)
fixtures = {
    "cc": [cc.client.client_id, cc.client_secret],
    "rs": [rs.client.client_id, rs.client_secret],
    "app": {"client_id": app.client_id, "redirect_uri": os.environ["CALLBACK"]},
    "password": os.environ["PASSWORD"],
    "probe_token": access(cc.client)[0],
    "user_token": access(app, users[0], "openid profile email")[0],
    "refresh_tokens": refresh,
    "flow_users": [u.email for u in users],
}
with open(os.environ["FIXTURES"], "w") as handle:
    json.dump(fixtures, handle)
"""


def count(scenario: str, env: dict, fixtures: Path) -> float:
    requests = REQUESTS.get(scenario.partition(":")[0], 100)
    result = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            "--collect-atstart=no",
            f"--callgrind-out-file={fixtures.parent / ('callgrind.' + scenario.replace(':', '-') + '.out')}",
            PY,
            __file__,
            "--measured",
            scenario,
            str(fixtures),
            str(requests),
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    collected = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or not collected:
        raise SystemExit(f"{scenario} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return int(collected.group(1)) / requests


def main(scenarios: list[str]) -> None:
    for scenario in scenarios:
        if scenario not in SCENARIOS:
            raise SystemExit(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    database = f"ciam_instructions_{int(time.time())}"
    out = BENCH / "out"
    out.mkdir(exist_ok=True)
    fixtures = out / "instructions-fixtures.json"
    toggle = out / "callgrind_toggle.so"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O1", "-x", "c", "-", "-o", str(toggle)],
        input=TOGGLE_SOURCE,
        text=True,
        check=True,
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CIAM_")},
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "DATABASE_CONN_MAX_AGE": "600",
        "DEBUG": "false",
        "SECRET_KEY": "instructions-" + "x" * 50,
        "CIAM_ISSUER": "http://127.0.0.1:8000",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "CIAM_LOGIN_IP_MAX_FAILURES": "1000000",
        "FIXTURES": str(fixtures),
        "CIAM_CALLGRIND_TOGGLE": str(toggle),
        "CALLBACK": CALLBACK,
        "PASSWORD": PASSWORD,
    }
    # (libsodium picks its Argon2 code from the CPU valgrind presents, which has no AVX-512.)
    psql(f"CREATE DATABASE {database}")
    try:
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "shell", "-c", SEED)
        print("| request | instructions per request |")
        print("|---|---|")
        for scenario in scenarios:
            if scenario == "login_steps":
                for step, name in enumerate(STEPS):
                    figure = count(f"login_steps:{step}", env, fixtures) / 1e6
                    print(f"| login flow, {name} | {figure:.2f} M |", flush=True)
                continue
            print(f"| {scenario} | {count(scenario, env, fixtures) / 1e6:.2f} M |", flush=True)
    finally:
        psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measured"]:
        measured(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main(sys.argv[1:] or list(SCENARIOS))
