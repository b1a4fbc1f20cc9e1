"""`make soak`: minutes of mixed load on the production server with faults injected.

A fresh PostgreSQL database; uWSGI reaches it through a TCP relay. Load: client-credentials
tokens, introspection of tokens already issued, client creation through the admin API. Faults:
a worker killed with SIGKILL every `--kill-every` seconds, and a database outage (the relay cut)
of `--outage` seconds half-way. At the end the whole server is killed with SIGKILL and restarted;
every token and client that was acknowledged must still be there.

Writes bench/SOAK.md: requests served, errors by kind, tokens lost (must be 0), 500s (must be 0);
exits non-zero otherwise.
"""

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ciam.settings")

from tests.reliability.servers import Relay, Server, wait_until, workers_of  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from run import psql  # noqa: E402 - the harness's own psql helper

SECRET_KEY = "soak-" + "s" * 50


def manage(database_url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "DEBUG": "false"}
    env.update(CIAM_ISSUER="http://127.0.0.1", ALLOWED_HOSTS="127.0.0.1")
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


SETUP = """
import json
from clients.services import client_create
from ciam.api.services import admin_token_create
made = client_create(actor_label="soak", client_name="soak", grant_types=["client_credentials"],
                     token_endpoint_auth_method="client_secret_basic", scope="email")
print(json.dumps({"client_id": made.client.client_id, "secret": made.client_secret,
                  "admin": admin_token_create(actor=None, name="soak")[1]}))
"""


class Load:
    def __init__(self, base: str, fixtures: dict, threads: int):
        self.base = base
        self.basic = requests.auth.HTTPBasicAuth(fixtures["client_id"], fixtures["secret"])
        self.admin = {"Authorization": f"Bearer {fixtures['admin']}"}
        self.tokens: list[str] = []
        self.clients: list[str] = []
        self.outcomes: Counter = Counter()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]
        for thread in self.threads:
            thread.start()

    def _call(self, web, kind, method, path, **kwargs):
        try:
            answer = web.request(method, f"{self.base}{path}", timeout=10, **kwargs)
        except requests.RequestException as exc:
            self.outcomes[(kind, type(exc).__name__)] += 1
            return None
        self.outcomes[(kind, answer.status_code)] += 1
        return answer

    def _run(self, i: int):
        web = requests.Session()
        n = 0
        while not self.stopping.is_set():
            n += 1
            roll = random.random()
            if roll < 0.6:
                answer = self._call(
                    web,
                    "token",
                    "POST",
                    "/oauth2/token",
                    data={"grant_type": "client_credentials"},
                    auth=self.basic,
                )
                if answer is not None and answer.status_code == 200:
                    self.tokens.append(answer.json()["access_token"])
            elif roll < 0.95 and self.tokens:
                answer = self._call(
                    web,
                    "introspect",
                    "POST",
                    "/oauth2/introspect",
                    data={"token": random.choice(self.tokens)},
                    auth=self.basic,
                )
                if answer is not None and answer.status_code == 200 and not answer.json().get("active"):
                    self.outcomes[("introspect", "inactive: LOST")] += 1
            else:
                answer = self._call(
                    web,
                    "create client",
                    "POST",
                    "/admin/clients",
                    headers=self.admin,
                    json={
                        "client_name": f"soak-{i}-{n}",
                        "redirect_uris": [f"https://s{i}x{n}.example.com/cb"],
                    },
                )
                if answer is not None and answer.status_code == 201:
                    self.clients.append(answer.json()["client_id"])

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--kill-every", type=int, default=20)
    parser.add_argument("--outage", type=int, default=5)
    args = parser.parse_args()

    database = f"ciam_soak_{int(time.time())}"
    psql(f"CREATE DATABASE {database}")
    relay = Relay(("127.0.0.1", 5432))
    relay.restore()
    url = f"postgres://postgres@127.0.0.1:{relay.port}/{database}"
    direct = f"postgres://postgres@127.0.0.1:5432/{database}"
    server = restarted = None
    faults: list[str] = []
    try:
        manage(direct, "migrate", "--noinput", "-v0")
        fixtures = json.loads(manage(direct, "shell", "-c", SETUP).strip().splitlines()[-1])
        server = Server(workers=2, database_url=url, SECRET_KEY=SECRET_KEY)
        load = Load(server.url, fixtures, args.threads)
        started = time.monotonic()
        outage_at = args.seconds / 2
        next_kill = args.kill_every
        outage_done = False
        while (elapsed := time.monotonic() - started) < args.seconds:
            if elapsed >= next_kill and (victims := workers_of(server.process.pid)):
                os.kill(random.choice(victims), signal.SIGKILL)
                faults.append(f"{elapsed:5.1f} s: SIGKILL one worker")
                next_kill += args.kill_every
            if not outage_done and elapsed >= outage_at:
                relay.cut()
                faults.append(f"{elapsed:5.1f} s: database unreachable for {args.outage} s")
                time.sleep(args.outage)
                relay.restore()
                outage_done = True
            time.sleep(0.2)
        for pid in [server.process.pid, *workers_of(server.process.pid)]:
            os.kill(pid, signal.SIGKILL)
        faults.append(f"{time.monotonic() - started:5.1f} s: SIGKILL the whole server, then restart")
        server.process.wait(timeout=10)
        load.stop()

        restarted = Server(workers=2, database_url=url, SECRET_KEY=SECRET_KEY)
        assert wait_until(lambda: requests.get(f"{restarted.url}/health/ready", timeout=5).ok)
        web = requests.Session()
        auth = requests.auth.HTTPBasicAuth(fixtures["client_id"], fixtures["secret"])
        lost_tokens = sum(
            not web.post(
                f"{restarted.url}/oauth2/introspect", data={"token": t}, auth=auth, timeout=10
            ).json()["active"]
            for t in load.tokens
        )
        lost_clients = sum(
            web.get(f"{restarted.url}/admin/clients/{c}", headers=load.admin, timeout=10).status_code != 200
            for c in load.clients
        )
    finally:
        for s in (server, restarted):
            if s is not None and s.process.poll() is None:
                s.stop()
        relay.cut()
        with contextlib.suppress(subprocess.CalledProcessError):
            psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")

    served = sum(n for (kind, status), n in load.outcomes.items() if isinstance(status, int) and status < 400)
    errors = {
        f"{kind}: {status}": n
        for (kind, status), n in sorted(load.outcomes.items(), key=str)
        if not (isinstance(status, int) and status < 400)
    }
    fivehundreds = sum(n for (kind, status), n in load.outcomes.items() if status == 500)
    lost_in_flight = load.outcomes[("introspect", "inactive: LOST")]
    lines = [
        "# Soak summary",
        "",
        f'Command: `make soak SOAK_ARGS="--seconds {args.seconds}"` ({args.threads} threads, uWSGI 2 processes,'
        f" PostgreSQL through a relay). Finished {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"- requests served (2xx/3xx): **{served}**",
        f"- tokens acknowledged: {len(load.tokens)}; clients acknowledged: {len(load.clients)}",
        f"- tokens lost: **{lost_tokens + lost_in_flight}** (must be 0); clients lost: **{lost_clients}** (must be 0)",
        f"- 500s: **{fivehundreds}** (must be 0)",
        "",
        "Errors by kind (503s and connection errors are expected while a worker dies or the database is away):",
        "",
        *[f"- {kind}: {n}" for kind, n in errors.items()],
        "",
        "Faults injected:",
        "",
        *[f"- {fault}" for fault in faults],
        "",
    ]
    (ROOT / "bench" / "SOAK.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 1 if (lost_tokens or lost_in_flight or lost_clients or fivehundreds) else 0


if __name__ == "__main__":
    sys.exit(main())
