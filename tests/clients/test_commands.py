"""create_client (clients.management.commands.create_client)."""

import re

import pytest
from django.core.management import CommandError, call_command

from clients.models import Client
from tests.helpers import cc

pytestmark = pytest.mark.django_db


def test_create_client_prints_the_id_and_the_secret_once(capsys):
    call_command(
        "create_client", "--name", "cli-m2m", "--grant-type", "client_credentials", "--scope", "email"
    )
    out = capsys.readouterr().out
    client_id = re.search(r"CLIENT ID\t(c-\S+)", out).group(1)
    secret = re.search(r"CLIENT SECRET\t(ciam_cs_\S+)", out).group(1)
    assert cc(client_id, secret, scope="email").status_code == 200


def test_create_client_makes_a_public_cli_client(capsys):
    call_command(
        "create_client",
        "--name",
        "cli",
        "--grant-type",
        "authorization_code,refresh_token",
        "--scope",
        "openid profile email",
        "--redirect-uri",
        "http://127.0.0.1:4446/callback",
        "--token-endpoint-auth-method",
        "none",
    )
    out = capsys.readouterr().out
    assert "CLIENT SECRET" not in out
    client = Client.objects.get(name="cli")
    assert client.grant_types == ["authorization_code", "refresh_token"]
    assert client.is_public and client.scope == "openid profile email"


def test_create_client_reports_every_refusal():
    with pytest.raises(CommandError) as caught:
        call_command(
            "create_client",
            "--grant-type",
            "client_credentials",
            "--token-endpoint-auth-method",
            "none",
            "--redirect-uri",
            "http://evil.example/cb",
        )
    assert "grant_types" in str(caught.value) and "redirect_uris" in str(caught.value)
    assert not Client.objects.exists()
