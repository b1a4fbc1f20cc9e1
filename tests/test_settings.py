"""Start-up refuses a production configuration that lacks its secrets (run in a subprocess)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CIAM_", "SECRET_KEY", "DEBUG"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_off_without_a_secret_key_stops_with_a_clear_message():
    result = start(DEBUG="false", CIAM_ISSUER="https://id.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_off_without_an_issuer_stops_with_a_clear_message():
    result = start(DEBUG="false", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "CIAM_ISSUER is not set" in result.stderr


def test_a_plain_http_issuer_is_refused_in_production():
    result = start(DEBUG="false", SECRET_KEY="x" * 50, CIAM_ISSUER="http://id.example.com")
    assert result.returncode != 0
    assert "https" in result.stderr


def test_bad_values_are_named():
    result = start(CIAM_ACCESS_TOKEN_LIFESPAN="soon")
    assert result.returncode != 0
    assert "CIAM_ACCESS_TOKEN_LIFESPAN='soon' is not an integer" in result.stderr


def test_a_complete_production_configuration_starts(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("y" * 50)
    result = start(DEBUG="false", SECRET_KEY_FILE=str(secret_file), CIAM_ISSUER="https://id.example.com")
    assert result.returncode == 0, result.stderr
