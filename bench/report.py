"""bench/REPORT.md and bench/ratios.png from bench/out/results.json."""

import time
from pathlib import Path

TARGETS = {
    "client_credentials": "≥ 1,200 tokens/s, ≥ 0.25 × peer",
    "introspection": "≥ 0.35 × peer",
    "refresh_rotation": "≥ 400/s",
    "admin_client_list": "≥ 500/s",
    "jwt_access_token": "≥ 2,000/s",
    "login_flow": "≥ 60 flows/s (Argon2id m=7 MiB t=5 p=1, an OWASP setting)",
    "login_flow_totp": "≥ 40 flows/s",
}
# Each scenario's rate is also given as a share of Django's own floor (a view that returns a
# constant, on the same server and settings).
FLOOR = "django_floor"


def _totp_flows(flow: dict | None) -> list[str]:
    if not flow:
        return []
    return [
        "",
        "With an authenticator app: the same flows for people with TOTP set up, six requests each (the "
        "password POST now leads to the second step's page, whose code POST completes the request), "
        f"each code computed from the person's key and used once: **{_f(flow['flows_per_s'])} flows/s**, "
        f"p50 {_f(flow['p50'], 0)} ms, p99 {_f(flow['p99'], 0)} ms, {flow['errors']} errors; CPU per flow: "
        f"the server {_f(flow.get('server_cpu_ms_per_flow'))} ms, the whole machine "
        f"{_f(flow.get('machine_cpu_ms_per_flow'))} ms. Target: {TARGETS['login_flow_totp']}.",
    ]


def _f(value, digits=1):
    return "–" if value is None else f"{value:,.{digits}f}"


def write_report(results: dict, folder: Path) -> None:
    scenarios, peer, growth, machine = (
        results["scenarios"],
        results["peer"],
        results["growth"],
        results["machine"],
    )
    config = results["config"]
    lines = [
        "# CIAM benchmark report",
        "",
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `make bench` "
        f"(`python bench/run.py --duration {config['duration']} --server {config['server']} "
        f"--workers {config['workers']} --rounds {config.get('rounds', 1)}`).",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB; kernel "
        f"{machine['kernel']}; Python {machine['python']}; {machine['postgresql']}; {machine['wrk']}; "
        f"node {machine['node']}.",
        "",
        f"CIAM: {_server_words(config)}, DEBUG off, "
        "PostgreSQL on 127.0.0.1 (persistent connections), a fresh database with 1,000 clients, 10,000 users and "
        "100,000 live access tokens. Load: wrk from another process on the same 2 cores (2 threads, "
        "16 connections, fixed duration), 127.0.0.1 only. The peer is node-oidc-provider 9.13.3 (npm) with its "
        "in-memory store: no database, so its figures are an upper bound.",
        "",
        "## Throughput and latency",
        "",
        "| scenario | req/s | ratio to peer | share of Django's floor | p50 ms | p99 ms | CPU s / 1000 req "
        "| peak RSS/worker MB | errors | CPU stolen | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    floor = scenarios.get(FLOOR, {}).get("rps")
    for name, stats in scenarios.items():
        if name in ("login_flow", "login_flow_totp"):
            continue
        ratio = _ratio(results, name)
        share = stats["rps"] / floor if floor else None
        lines.append(
            f"| {name} | {_f(stats['rps'], 0)} | {_f(ratio, 2) + ' ×' if ratio else '–'} | "
            f"{_f(share, 2) + ' ×' if share else '–'} | "
            f"{_f(stats['p50'], 2)} | {_f(stats['p99'], 2)} | {_f(stats['cpu_per_1000'], 2)} | "
            f"{_f(stats.get('peak_mb'), 0)} | {stats['errors']} | {_f(stats.get('steal_pct'), 0)} % | "
            f"{TARGETS.get(name, '')} |"
        )
    for name, stats in peer.items():
        if isinstance(stats, dict):
            lines.append(
                f"| peer: {name} | {_f(stats['rps'], 0)} | 1 × | | {_f(stats['p50'], 2)} | "
                f"{_f(stats['p99'], 2)} | {_f(stats['cpu_per_1000'], 2)} | {_f(stats.get('peak_mb'), 0)} | "
                f"{stats['errors']} | {_f(stats.get('steal_pct'), 0)} % | |"
            )
    rounds = [
        name for name in ("client_credentials", "introspection") if scenarios.get(name, {}).get("rounds")
    ]
    if rounds:
        lines += [
            "",
            "CIAM and the peer ran in alternation, one round each in turn; each row above is the median "
            'pair. The hypervisor\'s share of the CPU ("CPU stolen", from /proc/stat) moves from minute '
            "to minute on this shared host, and both servers' figures with it; the pairs were:",
            "",
        ]
        for name in rounds:
            pairs = "; ".join(
                f"{_f(r['rps'], 0)} vs {_f(r['peer_rps'], 0)} = {_f(r['ratio'], 2)} × ({_f(r['steal_pct'], 0)} % stolen)"
                for r in scenarios[name]["rounds"]
            )
            lines.append(f"- {name}: {pairs}")
    if floor:
        lines += [
            "",
            f"Django's floor ({FLOOR}): GET /health/alive, a view that returns a constant JSON through the whole "
            "middleware list with no database query, on the same server and settings. client_credentials_async "
            "is client_credentials with the operator's opt-in CIAM_CC_TOKEN_ASYNC_COMMIT=true (tokens committed "
            "without waiting for the disk), on a second server started for it; its ratio is to the peer's "
            "client_credentials median.",
        ]
    flow = scenarios["login_flow"]
    lines += [
        "",
        "## Sign-in flows",
        "",
        "Full authorization code + PKCE flows, four requests each (authorize → sign-in page → password "
        "POST, which checks the password and the remembered consent and redirects to the client with "
        f"its code → token exchange with ID token), {flow['workers']} concurrent HTTP clients: "
        f"**{_f(flow['flows_per_s'])} flows/s**, p50 {_f(flow['p50'], 0)} ms, p99 {_f(flow['p99'], 0)} ms, "
        f"{flow['errors']} errors. Target: {TARGETS['login_flow']}.",
        "",
        f"CPU per flow: the server {_f(flow.get('server_cpu_ms_per_flow'))} ms, the HTTP clients driving it "
        f"{_f(flow.get('driver_cpu_ms_per_flow'))} ms, the whole machine (with PostgreSQL and the kernel) "
        f"{_f(flow.get('machine_cpu_ms_per_flow'))} ms. At 2 cores, 60 flows/s leaves 33 ms for the whole machine.",
        *_totp_flows(scenarios.get("login_flow_totp")),
        "",
        "## Memory",
        "",
        f"Steady-state RSS per worker after the run: {', '.join(_f(m, 0) for m in results['memory_steady_mb'])} MB; "
        f"peak: {', '.join(_f(m, 0) for m in results['memory_peak_mb'])} MB (target < 150 MB).",
    ]
    if growth:
        lines += [
            "",
            "## How cost grows with the token table",
            "",
            "| rows in the access-token table | client_credentials req/s | p99 ms | introspection req/s | p99 ms |",
            "|---|---|---|---|---|",
        ]
        for size in ("10k", "1M"):
            cc, intro = growth[f"client_credentials_{size}"], growth[f"introspection_{size}"]
            lines.append(
                f"| {growth[f'rows_{size}']:,} | {_f(cc['rps'], 0)} | {_f(cc['p99'], 2)} | "
                f"{_f(intro['rps'], 0)} | {_f(intro['p99'], 2)} |"
            )
        if growth.get("introspection_plan"):
            lines += [
                "",
                "PostgreSQL's plan for the introspection lookup at 1,000,000 rows:",
                "",
                "```",
                growth["introspection_plan"],
                "```",
            ]
        during = growth["during_janitor"]
        lines += [
            "",
            f"`janitor` purged {growth['janitor_rows']:,} expired rows in {_f(growth['janitor_seconds'])} s "
            f"(batches of 5,000) while client-credentials load ran: {_f(during['rps'], 0)} tokens/s, "
            f"p99 {_f(during['p99'], 2)} ms, {during['errors']} errors.",
        ]
    lines += ["", "## Ratios to the peer", "", "![ratios](ratios.png)", ""]
    notes = folder / "NOTES.md"
    if notes.exists():
        lines += [notes.read_text()]
    (folder / "REPORT.md").write_text("\n".join(lines) + "\n")
    _chart(results, folder / "ratios.png")


def _chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in ("client_credentials", "introspection") if n in results["peer"]]
    ratios = [_ratio(results, n) for n in names]
    targets = [0.25, 0.35]
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=120)
    bars = ax.bar(names, ratios, color="#2f5bea")
    ax.scatter(names, targets[: len(names)], marker="_", s=2000, color="#b42318", label="target")
    ax.axhline(1.0, color="#9ca3af", linewidth=1, linestyle="--")
    for bar, ratio in zip(bars, ratios, strict=True):
        # Inside the bar, clear of the target marks above it.
        ax.text(
            bar.get_x() + bar.get_width() / 2,
            ratio / 2,
            f"{ratio:.2f}×",
            ha="center",
            va="center",
            color="white",
            fontweight="bold",
        )
    ax.set_ylabel("CIAM req/s ÷ oidc-provider req/s")
    ax.set_title("Throughput relative to node-oidc-provider (in-memory)")
    ax.set_ylim(0, 1.3)
    ax.legend(loc="upper right", frameon=False, markerscale=0.35)
    fig.tight_layout()
    fig.savefig(path)


def _ratio(results: dict, name: str) -> float | None:
    """The median pair's ratio where CIAM and the peer alternated, else one run against the other."""
    stats = results["scenarios"].get(name, {})
    peer = results["peer"].get("client_credentials" if name == "client_credentials_async" else name)
    if "ratio" in stats:
        return stats["ratio"]
    return stats["rps"] / peer["rps"] if peer and peer.get("rps") and stats else None


def _server_words(config: dict) -> str:
    if config["server"] == "uwsgi":
        return f"uWSGI (deploy/uwsgi.ini, as the Docker image runs it) with {config['workers']} processes"
    if config["server"] == "gunicorn":
        return f"gunicorn with {config['workers']} {config.get('worker_class', '')} workers"
    return f"{config['server']} with {config['workers']} workers"
