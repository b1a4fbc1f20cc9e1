"""The `ciam` console script's `perform authorization-code`, its browser part in Chromium."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from ciam.accounts.models import User
from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_perform_authorization_code_with_the_console_script_and_a_browser(live_issuer, new_page, monkeypatch):
    """The real `ciam` console script: it listens on --port, prints the URL; Chromium signs in."""
    from clients.services import client_create

    User.objects.create_user(email="cli@example.com", password=PASSWORD)
    port = 4599
    client = client_create(
        client_name="CLI",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
        scope="openid email offline_access",
        redirect_uris=[f"http://127.0.0.1:{port}/callback"],
    ).client
    script = Path(sys.executable).with_name("ciam")
    env = {**os.environ, "CIAM_ENDPOINT": live_issuer}
    process = subprocess.Popen(
        [
            str(script),
            "--format",
            "json",
            "perform",
            "authorization-code",
            "--client-id",
            client.client_id,
            "--port",
            str(port),
            "--scope",
            "openid email offline_access",
            "--no-open",
            "--timeout",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout.readline().startswith("Open this URL")
        url = process.stdout.readline().strip()
        assert re.search(r"code_challenge_method=S256", url)
        page = new_page()
        page.goto(url)
        page.fill("input[name=email]", "cli@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Sign in')")
        page.click("button:has-text('Allow access')")
        assert "Signed in" in page.content()
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    tokens = json.loads(out)
    assert tokens["access_token"].startswith("ciam_at_") and tokens["refresh_token"].startswith("ciam_rt_")
    userinfo = requests.get(
        f"{live_issuer}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
    )
    assert userinfo.json()["email"] == "cli@example.com"
