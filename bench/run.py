"""The benchmark harness (`make bench`): CIAM as in production, loaded by wrk from another process,
side by side with node-oidc-provider; writes bench/REPORT.md and bench/ratios.png.

Every request goes to 127.0.0.1 only; every load is bounded in time.
"""

import argparse
import base64
import contextlib
import json
import os
import platform
import re
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
PY = sys.executable
TICKS = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 60) -> None:
    import requests

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up within {timeout}s")


# --- Processes: CPU and memory from /proc ------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    pids, pending = [], [pid]
    while pending:
        current = pending.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                pending.extend(int(c) for c in (task / "children").read_text().split())
    return pids


def cpu_seconds(pid: int) -> float:
    total = 0
    for child in process_tree(pid):
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total / TICKS


def memory_mb(pid: int, key: str = "VmHWM") -> list[float]:
    """Per process of the tree except the parent (the workers): peak (VmHWM) or current RSS."""
    values = []
    tree = process_tree(pid)
    for child in tree[1:] or tree:
        try:
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    values.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return values


class Service:
    def __init__(self, name: str, command: list[str], *, env: dict, cwd: Path, health: str):
        self.name, self.health = name, health
        self.log = open(OUT / f"{name}.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(health)

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


# --- wrk --------------------------------------------------------------------------------------------


def lua_request(method: str, path: str, *, body: str = "", headers: dict | None = None) -> str:
    lines = [f'wrk.method = "{method}"', f'wrk.path = "{path}"']
    if body:
        lines.append(f"wrk.body = {json.dumps(body)}")
    for name, value in (headers or {}).items():
        lines.append(f'wrk.headers["{name}"] = {json.dumps(value)}')
    return "\n".join(lines) + "\n"


def lua_rotation(path: str, tokens_file: Path, client_id: str) -> str:
    """Each request uses a refresh token never used before (rotation forbids reuse)."""
    return f"""
local counter = 0
local threads = {{}}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  tokens = {{}}
  local i = 0
  for line in io.lines("{tokens_file}") do
    if i % 2 == id then table.insert(tokens, line) end
    i = i + 1
  end
  n = 0
end
function request()
  n = n + 1
  local token = tokens[n] or tokens[#tokens]
  return wrk.format("POST", "{path}", {{["Content-Type"] = "application/x-www-form-urlencoded"}},
    "grant_type=refresh_token&client_id={client_id}&refresh_token=" .. token)
end
"""


def lua_alternate(paths: list[str]) -> str:
    items = ", ".join(json.dumps(p) for p in paths)
    return f"""
local paths = {{{items}}}
local i = 0
function request()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
"""


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(base: str, script: str, name: str, *, duration: int, connections: int) -> dict:
    path = OUT / f"{name}.lua"
    path.write_text(script)
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(path), base],
        capture_output=True,
        text=True,
        timeout=duration + 60,
    )
    text = result.stdout
    (OUT / f"{name}.wrk.txt").write_text(text + result.stderr)
    stats = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "requests": int(re.search(r"(\d+) requests in", text).group(1)),
    }
    for pct in ("50", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+([\d.]+\w+)", text, re.M)
        stats[f"p{pct}"] = _ms(match.group(1)) if match else None
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: (.*)", text)
    stats["errors"] = int(non2xx.group(1)) if non2xx else 0
    stats["socket_errors"] = socket_errors.group(1) if socket_errors else ""
    return stats


def measure(
    service: Service, base: str, script: str, name: str, *, duration: int, connections: int = 16
) -> dict:
    before, clock_before = service.cpu(), cpu_clock()
    stats = wrk(base, script, name, duration=duration, connections=connections)
    stats["cpu_per_1000"] = (service.cpu() - before) / max(stats["requests"], 1) * 1000
    stats["steal_pct"] = steal_percent(clock_before, cpu_clock())
    peaks = memory_mb(service.process.pid)
    stats["peak_mb"] = max(peaks) if peaks else None
    log(
        f"{name}: {stats['rps']:.0f} req/s, p50 {stats['p50']:.2f} ms, p99 {stats['p99']:.2f} ms, "
        f"errors {stats['errors']}, {stats['cpu_per_1000']:.2f} CPU-s/1000, "
        f"{stats['steal_pct']:.0f} % of the CPU stolen by the hypervisor"
    )
    return stats


def paired(
    ours: tuple[Service, str, str], theirs: tuple[Service, str, str], name: str, *, duration: int, rounds: int
) -> tuple[dict, dict]:
    """CIAM and the peer measured in alternation, `rounds` times each.

    This VM shares its host: the CPU time stolen by the hypervisor moves from minute to minute,
    and with it both servers' figures. Rounds taken back to back see about the same machine, so
    the ratio of each pair is fair; the median pair is reported, with every pair kept.
    """
    pairs = []
    for index in range(rounds):
        mine = measure(ours[0], ours[1], ours[2], f"{name}-{index + 1}", duration=duration)
        peer = measure(theirs[0], theirs[1], theirs[2], f"peer-{name}-{index + 1}", duration=duration)
        pairs.append((mine["rps"] / peer["rps"] if peer["rps"] else 0.0, mine, peer))
    pairs.sort(key=lambda pair: pair[0])
    ratio, mine, peer = pairs[len(pairs) // 2]
    mine = {
        **mine,
        "ratio": ratio,
        "rounds": [
            {"rps": m["rps"], "peer_rps": t["rps"], "ratio": r, "steal_pct": m["steal_pct"]}
            for r, m, t in pairs
        ],
    }
    log(f"{name}: median ratio {ratio:.2f} of {', '.join(f'{r:.2f}' for r, _, _ in pairs)}")
    return mine, peer


def cpu_clock() -> list[int]:
    return [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]


def steal_percent(before: list[int], after: list[int]) -> float:
    """The share of the machine's CPU time the hypervisor gave to other guests (/proc/stat steal)."""
    delta = [a - b for a, b in zip(after, before, strict=False)]
    total = sum(delta[:8])
    return 100.0 * delta[7] / total if total else 0.0


# --- The run ----------------------------------------------------------------------------------------


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def form(**fields) -> str:
    return urlencode(fields)


def manage(env: dict, *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, check=True, text=True, capture_output=capture
    )
    return result.stdout if capture else ""


def psql(sql: str, database: str = "postgres") -> str:
    return subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-qAt",
            "-c",
            sql,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def start_ciam(args, env: dict, port: int) -> Service:
    bind = f"127.0.0.1:{port}"
    if args.server == "uwsgi":
        # What production runs (the Dockerfile): deploy/uwsgi.ini, request log included.
        command = [
            str(Path(PY).with_name("uwsgi")),
            "--ini",
            str(ROOT / "deploy" / "uwsgi.ini"),
            "--http-socket",
            bind,
            "--processes",
            str(args.workers),
        ]
    elif args.server == "granian":
        command = [
            str(Path(PY).with_name("granian")),
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--no-ws",
            "--log-level",
            "warning",
            "ciam.wsgi:application",
        ]
    else:
        command = [
            str(Path(PY).with_name("gunicorn")),
            "ciam.wsgi:application",
            "--bind",
            bind,
            "--workers",
            str(args.workers),
            "--worker-class",
            args.worker_class,
            "--threads",
            str(args.threads),
            "--log-level",
            "warning",
            "--keep-alive",
            "30",
        ]
    return Service("ciam", command, env=env, cwd=ROOT, health=f"http://{bind}/health/ready")


def start_peer(port: int) -> Service | None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        log("node/npm not found: the peer is skipped")
        return None
    peer = BENCH / "peer"
    if not (peer / "node_modules" / "oidc-provider").exists():
        log("installing oidc-provider from npm")
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=peer, check=True)
    env = {**os.environ, "PORT": str(port), "NODE_ENV": "production"}
    return Service(
        "peer",
        [node, "server.mjs"],
        env=env,
        cwd=peer,
        health=f"http://127.0.0.1:{port}/.well-known/openid-configuration",
    )


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat), for a scenario's whole cost."""
    fields = cpu_clock()
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def login_flows(
    service: Service, base: str, fixtures: dict, *, duration: int, workers: int, totp: bool = False
) -> dict:
    """Sign-in flows per second (with `totp`: with an authenticator app's code as the second step)."""
    server_before, busy_before = service.cpu(), machine_busy_seconds()
    driver_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = [PY, str(BENCH / "flows.py"), base, str(OUT / "fixtures.json"), str(duration), str(workers)]
    result = subprocess.run(
        command + (["totp"] if totp else []),
        capture_output=True,
        text=True,
        timeout=duration + 120,
        check=True,
    )
    driver_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    stats = json.loads(result.stdout)
    flows = max(stats["flows"], 1)
    # Where each flow's CPU goes: the server, the HTTP clients driving it, and the rest of the
    # machine (PostgreSQL, the kernel's loopback networking).
    driver = (driver_after.ru_utime + driver_after.ru_stime) - (
        driver_before.ru_utime + driver_before.ru_stime
    )
    stats["server_cpu_ms_per_flow"] = (service.cpu() - server_before) / flows * 1000
    stats["driver_cpu_ms_per_flow"] = driver / flows * 1000
    stats["machine_cpu_ms_per_flow"] = (machine_busy_seconds() - busy_before) / flows * 1000
    log(
        f"login flows{' with TOTP' if totp else ''}: {stats['flows_per_s']:.1f}/s, p50 {stats['p50']:.0f} ms, p99 {stats['p99']:.0f} ms, "
        f"errors {stats['errors']}; CPU per flow: server {stats['server_cpu_ms_per_flow']:.1f} ms, "
        f"driver {stats['driver_cpu_ms_per_flow']:.1f} ms, whole machine {stats['machine_cpu_ms_per_flow']:.1f} ms"
    )
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=15, help="Seconds per scenario (default 15).")
    parser.add_argument("--server", choices=["uwsgi", "gunicorn", "granian"], default="uwsgi")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-growth", action="store_true", help="Skip the 1M-row and janitor phases.")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="Alternating CIAM/peer rounds for the compared scenarios; the median pair is reported.",
    )
    parser.add_argument(
        "--only",
        default="",
        help="Comma-separated scenarios to run (e.g. login_flow,introspection); the peer and the "
        "growth phases run only with client_credentials or introspection among them.",
    )
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}

    def selected(name: str) -> bool:
        return not only or name in only

    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    OUT.mkdir(parents=True, exist_ok=True)

    database = f"ciam_bench_{int(time.time())}"
    psql(f"CREATE DATABASE {database}")
    port, peer_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CIAM_")},
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + "x" * 50,
        "CIAM_ISSUER": base,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "DATABASE_CONN_MAX_AGE": "600",
        "CIAM_LOGIN_IP_MAX_FAILURES": "1000000",
        "CIAM_BENCH_FIXTURES": str(OUT / "fixtures.json"),
    }
    results: dict = {"config": vars(args), "scenarios": {}, "peer": {}, "growth": {}}
    services: list[Service] = []
    try:
        log(f"database {database}: migrating and seeding (1,000 clients, 10,000 users, 100,000 live tokens)")
        manage(env, "migrate", "--noinput", "-v0")
        started = time.time()
        manage(env, "shell", "-c", (BENCH / "seed.py").read_text())
        results["seed_seconds"] = time.time() - started
        fixtures = json.loads((OUT / "fixtures.json").read_text())
        tokens_file = OUT / "refresh_tokens.txt"
        tokens_file.write_text("\n".join(fixtures["refresh_tokens"]) + "\n")

        ciam = start_ciam(args, env, port)
        services.append(ciam)
        cc, jwt_client, rs = fixtures["cc"], fixtures["jwt"], fixtures["rs"]
        form_header = {"Content-Type": "application/x-www-form-urlencoded"}
        scenarios = {
            # Django's own floor on this server and settings: a view that returns a constant, through
            # the whole middleware list, no database.
            "django_floor": lua_request("GET", "/health/alive"),
            "client_credentials": lua_request(
                "POST",
                "/oauth2/token",
                body=form(grant_type="client_credentials"),
                headers={**form_header, "Authorization": basic(cc["client_id"], cc["secret"])},
            ),
            "introspection": lua_request(
                "POST",
                "/oauth2/introspect",
                body=form(token=fixtures["probe_token"]),
                headers={**form_header, "Authorization": basic(rs["client_id"], rs["secret"])},
            ),
            "jwt_access_token": lua_request(
                "POST",
                "/oauth2/token",
                body=form(grant_type="client_credentials"),
                headers={
                    **form_header,
                    "Authorization": basic(jwt_client["client_id"], jwt_client["secret"]),
                },
            ),
            "refresh_rotation": lua_rotation("/oauth2/token", tokens_file, fixtures["app"]["client_id"]),
            "userinfo": lua_request(
                "GET", "/userinfo", headers={"Authorization": f"Bearer {fixtures['user_token']}"}
            ),
            "discovery_jwks": lua_alternate(["/.well-known/openid-configuration", "/.well-known/jwks.json"]),
            "admin_client_list": lua_request(
                "GET",
                "/admin/clients?page_size=100",
                headers={"Authorization": f"Bearer {fixtures['admin_token']}"},
            ),
        }
        # The peer runs beside CIAM (an idle server costs nothing) so the two compared scenarios
        # can alternate between them.
        peer = start_peer(peer_port) if selected("client_credentials") or selected("introspection") else None
        if peer is not None:
            services.append(peer)
            peer_base = f"http://127.0.0.1:{peer_port}"
            import requests

            peer_token = requests.post(
                f"{peer_base}/token",
                data={"grant_type": "client_credentials"},
                auth=("bench", "bench-secret"),
                timeout=10,
            ).json()["access_token"]
            assert (
                requests.post(
                    f"{peer_base}/token/introspection",
                    data={"token": peer_token},
                    auth=("bench", "bench-secret"),
                    timeout=10,
                ).json()["active"]
                is True
            )
            peer_scripts = {
                "client_credentials": lua_request(
                    "POST",
                    "/token",
                    body=form(grant_type="client_credentials"),
                    headers={**form_header, "Authorization": basic("bench", "bench-secret")},
                ),
                "introspection": lua_request(
                    "POST",
                    "/token/introspection",
                    body=form(token=peer_token),
                    headers={**form_header, "Authorization": basic("bench", "bench-secret")},
                ),
            }
            wrk(peer_base, peer_scripts["client_credentials"], "peer-warmup", duration=3, connections=8)

        # Warm up every worker (imports, connections, key cache) before measuring.
        wrk(base, scenarios["client_credentials"], "warmup", duration=3, connections=8)
        for name, script in scenarios.items():
            if not selected(name):
                continue
            duration = min(args.duration, 10) if name == "refresh_rotation" else args.duration
            if peer is not None and name in peer_scripts:
                results["scenarios"][name], results["peer"][name] = paired(
                    (ciam, base, script),
                    (peer, peer_base, peer_scripts[name]),
                    name,
                    duration=duration,
                    rounds=args.rounds,
                )
            else:
                results["scenarios"][name] = measure(ciam, base, script, name, duration=duration)
        if selected("login_flow"):
            results["scenarios"]["login_flow"] = login_flows(
                ciam, base, fixtures, duration=args.duration, workers=8
            )
        if selected("login_flow_totp"):
            results["scenarios"]["login_flow_totp"] = login_flows(
                ciam, base, fixtures, duration=args.duration, workers=8, totp=True
            )
        if selected("client_credentials_async"):
            # The same scenario with the operator's opt-in: tokens committed without waiting for the
            # disk (CIAM_CC_TOKEN_ASYNC_COMMIT), on a second server, the first one idle meanwhile.
            async_port = free_port()
            fast = start_ciam(args, {**env, "CIAM_CC_TOKEN_ASYNC_COMMIT": "true"}, async_port)
            services.append(fast)
            async_base = f"http://127.0.0.1:{async_port}"
            wrk(async_base, scenarios["client_credentials"], "warmup-async", duration=3, connections=8)
            results["scenarios"]["client_credentials_async"] = measure(
                fast,
                async_base,
                scenarios["client_credentials"],
                "client_credentials_async",
                duration=args.duration,
            )
            fast.stop()
            services.remove(fast)
        results["memory_steady_mb"] = memory_mb(ciam.process.pid, "VmRSS")
        results["memory_peak_mb"] = memory_mb(ciam.process.pid, "VmHWM")
        if peer is not None:
            results["peer"]["memory_peak_mb"] = memory_mb(peer.process.pid)
            peer.stop()
            services.remove(peer)

        if not args.skip_growth and (selected("client_credentials") or selected("introspection")):
            results["growth"] = growth(ciam, base, scenarios, database, env, args)
    finally:
        for service in services:
            service.stop()
        if not args.keep_db:
            psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    results["machine"] = machine()
    if only:
        # A partial run informs, it does not replace the report of a whole one.
        (OUT / "partial-results.json").write_text(json.dumps(results, indent=2))
        log(f"partial run: figures above and in {OUT / 'partial-results.json'}; REPORT.md unchanged")
        return 0
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    from report import write_report

    write_report(results, BENCH)
    log(f"wrote {BENCH / 'REPORT.md'} and {BENCH / 'ratios.png'}")
    return 0


def growth(ciam: Service, base: str, scenarios: dict, database: str, env: dict, args) -> dict:
    """Cost at 10,000 and at 1,000,000 token rows; then the janitor purging 1,000,000 expired rows
    while tokens are being issued."""
    out: dict = {}
    bulk = "SELECT id FROM clients_client WHERE client_id LIKE 'c-bulk-%'"
    short = max(5, min(args.duration, 10))
    # Start from the scenario tokens only (the probe and the userinfo token), then fill with
    # generated rows of the bulk clients: 10,000, then 1,000,000.
    psql(
        "DELETE FROM oauth_refreshtoken; DELETE FROM oauth_accesstoken WHERE application_id IN "
        f"({bulk}) OR scope = 'openid email'",
        database,
    )

    def fill_to(total: int) -> int:
        count = int(psql("SELECT count(*) FROM oauth_accesstoken", database))
        if total > count:
            log(f"inserting {total - count} token rows")
            psql(
                f"""INSERT INTO oauth_accesstoken (token, token_checksum, application_id, expires, scope, created,
                     updated, resource)
                     SELECT '', md5(g::text || random()::text) || md5(random()::text || g::text),
                     (SELECT min(id) FROM clients_client WHERE client_id LIKE 'c-bulk-%'),
                     now() + interval '1 hour', 'email', now(), now(), '[]'::jsonb
                     FROM generate_series(1, {total - count}) g""",
                database,
            )
        # Measure a settled table: statistics fresh, no checkpoint or autovacuum competing.
        psql("VACUUM ANALYZE oauth_accesstoken", database)
        psql("CHECKPOINT", database)
        return int(psql("SELECT count(*) FROM oauth_accesstoken", database))

    for size, total in (("10k", 10_000), ("1M", 1_000_000)):
        out[f"rows_{size}"] = fill_to(total)
        for name in ("client_credentials", "introspection"):
            out[f"{name}_{size}"] = measure(
                ciam, base, scenarios[name], f"growth-{name}-{size}", duration=short
            )
    out["introspection_plan"] = psql(
        "EXPLAIN SELECT t.application_id FROM oauth_accesstoken t JOIN clients_client c ON c.id = t.application_id "
        f"WHERE t.token_checksum = '{'0' * 64}'",
        database,
    )

    expired = psql(
        f"UPDATE oauth_accesstoken SET expires = now() - interval '1 day' WHERE application_id IN ({bulk}) "
        "RETURNING 1",
        database,
    ).count("1")
    out["janitor_rows"] = expired
    log(f"janitor: purging {expired} expired rows under client_credentials load")
    script = OUT / "growth-janitor-load.lua"
    script.write_text(scenarios["client_credentials"])  # this run's client, not an older run's file
    load = subprocess.Popen(
        ["wrk", "-t2", "-c16", "-d600s", "--latency", "-s", str(script), base],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(2)
    started = time.time()
    manage(env, "janitor", "--no-progress", "--batch-size", "5000", capture=True)
    out["janitor_seconds"] = time.time() - started
    load.send_signal(2)  # wrk prints its summary on SIGINT
    text = load.communicate(timeout=30)[0]
    (OUT / "growth-janitor-load.wrk.txt").write_text(text)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"^\s+99%\s+([\d.]+\w+)", text, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["during_janitor"] = {
        "rps": float(rps.group(1)) if rps else None,
        "p99": _ms(p99.group(1)) if p99 else None,
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }
    log(f"janitor: {out['janitor_seconds']:.1f}s; tokens meanwhile {out['during_janitor']}")
    return out


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = (
        int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
        )
        / 1024
        / 1024
    )
    versions = {"python": platform.python_version()}
    for name, command in {
        "postgresql": ["psql", "--version"],
        "wrk": ["wrk", "-v"],
        "node": ["node", "--version"],
    }.items():
        try:
            versions[name] = (
                subprocess.run(command, capture_output=True, text=True).stdout.strip().splitlines()[0]
            )
        except (OSError, IndexError):
            versions[name] = "?"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem, 1),
        "kernel": platform.release(),
        **versions,
    }


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    sys.exit(main())
