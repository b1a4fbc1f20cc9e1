"""The benchmark harness's own parts: the sign-in flow driver follows the real pages of a live
server, and the report is written from alternating CIAM/peer rounds."""

import json
import sys
from pathlib import Path

import pyotp
import pytest
from django.utils import timezone

from ciam.accounts.factors import seal_totp_secret
from ciam.accounts.models import TotpFactor, User
from clients.services import client_create
from consent.models import Consent
from tests.helpers import PASSWORD

MACHINE_FIELDS = ("cpu", "cores", "memory_gib", "kernel", "python", "postgresql", "wrk", "node")
BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import flows  # noqa: E402 - bench/ is not a package
import report  # noqa: E402


@pytest.mark.django_db(transaction=True)
def test_the_flow_driver_signs_in_and_gets_an_id_token_through_the_pages(live_issuer):
    callback = "http://127.0.0.1:9/callback"
    app = client_create(
        actor_label="tests",
        client_name="bench-app",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
        scope="openid profile email",
        redirect_uris=[callback],
    ).client
    person = User.objects.create_user(email="flow@bench.example", password=PASSWORD)
    Consent.objects.create(user=person, client=app, scopes=["openid", "email"], remember=True)
    fixtures = {"app": {"client_id": app.client_id, "redirect_uri": callback}, "password": PASSWORD}

    flows.one_flow(flows.Browser(live_issuer), fixtures, person.email)  # asserts every step itself

    with pytest.raises(AssertionError):  # a wrong password stops at the sign-in step
        flows.one_flow(flows.Browser(live_issuer), {**fixtures, "password": "x"}, person.email)

    # With an authenticator app: the second step's code, computed from the key, each once.
    secret = pyotp.random_base32(32)
    TotpFactor.objects.create(user=person, secret=seal_totp_secret(secret), confirmed=timezone.now())
    authenticator = flows.Authenticator(secret)
    for _ in range(3):  # the previous, current and next steps' codes, in order
        flows.one_flow(flows.Browser(live_issuer), fixtures, person.email, authenticator)
    assert authenticator.code() is None  # a fourth must wait for the next step
    with pytest.raises(AssertionError):  # without the code, the flow stops at the second step
        flows.one_flow(flows.Browser(live_issuer), fixtures, person.email)


def test_the_report_gives_the_median_pair_and_every_round(tmp_path):
    def wrk_stats(rps, steal=3.0):
        figures = {"p50": 5.0, "p99": 9.0, "cpu_per_1000": 0.5, "peak_mb": 90, "errors": 0}
        return {"rps": rps, "steal_pct": steal, **figures}

    rounds = [
        {"rps": 600, "peer_rps": 2400, "ratio": 0.25, "steal_pct": 4},
        {"rps": 700, "peer_rps": 2300, "ratio": 0.304, "steal_pct": 2},
        {"rps": 650, "peer_rps": 2200, "ratio": 0.295, "steal_pct": 5},
    ]
    results = {
        "config": {"duration": 15, "server": "uwsgi", "workers": 4, "rounds": 3},
        "machine": dict.fromkeys(MACHINE_FIELDS, "x"),
        "scenarios": {
            "client_credentials": {**wrk_stats(650), "ratio": 0.295, "rounds": rounds},
            "userinfo": wrk_stats(500),
            "login_flow": {
                **{"flows_per_s": 30.2, "p50": 249, "p99": 523, "errors": 0, "workers": 8},
                **{"server_cpu_ms_per_flow": 50.4, "driver_cpu_ms_per_flow": 5.2},
                "machine_cpu_ms_per_flow": 65.8,
            },
            "login_flow_totp": {
                **{"flows_per_s": 41.5, "p50": 300, "p99": 700, "errors": 0, "workers": 8},
                **{"server_cpu_ms_per_flow": 60.1, "machine_cpu_ms_per_flow": 80.2},
            },
        },
        "peer": {"client_credentials": wrk_stats(2200, steal=6.0), "memory_peak_mb": [150]},
        "growth": {},
        "memory_steady_mb": [110, 111],
        "memory_peak_mb": [112, 113],
    }
    report.write_report(results, tmp_path)
    text = (tmp_path / "REPORT.md").read_text()
    assert "| client_credentials | 650 | 0.29 × |" in text  # the median pair's ratio, not 650/2200
    assert "600 vs 2,400 = 0.25 ×" in text and "700 vs 2,300 = 0.30 ×" in text
    assert "| 6 % | |" in text  # the peer's stolen CPU
    assert "server 50.4 ms" in text or "the server 50.4 ms" in text
    assert "With an authenticator app" in text and "**41.5 flows/s**" in text and "≥ 40 flows/s" in text
    assert (tmp_path / "ratios.png").stat().st_size > 1000


@pytest.mark.django_db
def test_every_instruction_counting_scenario_runs_against_the_application(tmp_path, monkeypatch):
    # `make instructions` seeds with bench/instructions.py's SEED and calls the WSGI application
    # as uWSGI would; here without valgrind, so that the scenarios cannot rot unnoticed.
    import instructions
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    monkeypatch.setenv("FIXTURES", str(tmp_path / "fixtures.json"))
    monkeypatch.setenv("CALLBACK", instructions.CALLBACK)
    monkeypatch.setenv("PASSWORD", instructions.PASSWORD)
    exec(instructions.SEED, {})  # noqa: S102 - the harness's own seed script
    fixtures = json.loads((tmp_path / "fixtures.json").read_text())
    # As Django's test client does: the test's transaction must outlive each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        application = get_wsgi_application()
        steps = [f"login_steps:{step}" for step in range(len(instructions.STEPS))]
        for scenario in [name for name in instructions.SCENARIOS if name != "login_steps"] + steps:
            one = instructions._request_maker(scenario, application, fixtures)
            one()
            one()  # each maker asserts its own answers (200s, a code, an ID token)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
