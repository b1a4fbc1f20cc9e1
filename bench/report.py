"""bench/REPORT.md and bench/ratios.png from bench/out/results.json."""

import time
from pathlib import Path

TARGETS = {
    "client_credentials": "≥ 1,500 tokens/s, ≥ 0.4 × peer, p99 < 50 ms",
    "introspection": "≥ 0.6 × peer, p99 < 20 ms",
    "login_flow": "≥ 60 flows/s (Argon2id m=19 MiB t=2 p=1)",
}


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
        f"--workers {config['workers']}`).",
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
        "| scenario | req/s | ratio to peer | p50 ms | p99 ms | CPU s / 1000 req | peak RSS/worker MB | errors | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, stats in scenarios.items():
        if name == "login_flow":
            continue
        ratio = stats["rps"] / peer[name]["rps"] if name in peer and peer[name].get("rps") else None
        lines.append(
            f"| {name} | {_f(stats['rps'], 0)} | {_f(ratio, 2) + ' ×' if ratio else '–'} | "
            f"{_f(stats['p50'], 2)} | {_f(stats['p99'], 2)} | {_f(stats['cpu_per_1000'], 2)} | "
            f"{_f(stats.get('peak_mb'), 0)} | {stats['errors']} | {TARGETS.get(name, '')} |"
        )
    for name, stats in peer.items():
        if isinstance(stats, dict):
            lines.append(
                f"| peer: {name} | {_f(stats['rps'], 0)} | 1 × | {_f(stats['p50'], 2)} | "
                f"{_f(stats['p99'], 2)} | {_f(stats['cpu_per_1000'], 2)} | {_f(stats.get('peak_mb'), 0)} | "
                f"{stats['errors']} | |"
            )
    flow = scenarios["login_flow"]
    lines += [
        "",
        "## Sign-in flows",
        "",
        f"Full authorization code + PKCE flows (authorize → sign-in page → password check → remembered consent → "
        f"code → token exchange with ID token), {flow['workers']} concurrent HTTP clients: "
        f"**{_f(flow['flows_per_s'])} flows/s**, p50 {_f(flow['p50'], 0)} ms, p99 {_f(flow['p99'], 0)} ms, "
        f"{flow['errors']} errors. Target: {TARGETS['login_flow']}.",
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
    ratios = [results["scenarios"][n]["rps"] / results["peer"][n]["rps"] for n in names]
    targets = [0.4, 0.6]
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


def _server_words(config: dict) -> str:
    if config["server"] == "uwsgi":
        return f"uWSGI (deploy/uwsgi.ini, as the Docker image runs it) with {config['workers']} processes"
    if config["server"] == "gunicorn":
        return f"gunicorn with {config['workers']} {config.get('worker_class', '')} workers"
    return f"{config['server']} with {config['workers']} workers"
