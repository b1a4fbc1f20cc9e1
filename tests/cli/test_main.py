"""The `ciam` command line (ciam.cli.main) against a live server (HTTP only, like Hydra's CLI)."""

import json

import pytest

from ciam.api.services import admin_token_create
from ciam.cli.main import main
from ciam.oauth.models import SigningKey
from clients.models import Client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cli(live_issuer, monkeypatch, capsys):
    monkeypatch.setenv("CIAM_ENDPOINT", live_issuer)
    monkeypatch.setenv("CIAM_ADMIN_TOKEN", admin_token_create(actor=None, name="cli tests")[1])

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_create_get_update_list_and_delete_a_client(cli):
    code, out, _ = cli(
        "--format",
        "json",
        "create",
        "client",
        "--name",
        "cli-app",
        "--grant-type",
        "authorization_code,refresh_token",
        "--response-type",
        "code",
        "--scope",
        "openid profile",
        "--redirect-uri",
        "http://127.0.0.1:4446/callback",
        "--token-endpoint-auth-method",
        "none",
        "--owner",
        "team-c",
        "--skip-consent",
        "--pkce-required",
        "--require-mfa",
    )
    assert code == 0, (out, _)
    created = json.loads(out)
    client_id = created["client_id"]
    assert (
        created["grant_types"] == ["authorization_code", "refresh_token"] and created["skip_consent"] is True
    )
    assert created["require_mfa"] is True

    code, out, _ = cli("get", "client", client_id)
    assert code == 0 and client_id in out and "cli-app" in out and "CLIENT ID" in out

    code, out, _ = cli(
        "--format", "json", "update", "client", client_id, "--name", "renamed", "--require-mfa", "false"
    )
    updated = json.loads(out)
    assert updated["require_mfa"] is False
    assert (
        updated["client_name"] == "renamed" and updated["owner"] == "team-c"
    )  # only the given field changed
    assert updated["redirect_uris"] == ["http://127.0.0.1:4446/callback"]

    code, out, _ = cli("--format", "json", "list", "clients")
    assert client_id in [c["client_id"] for c in json.loads(out)]

    assert cli("delete", "client", client_id)[0] == 0
    assert not Client.objects.filter(client_id=client_id).exists()


def test_errors_are_reported_on_stderr_with_a_non_zero_exit(cli, monkeypatch):
    code, _, err = cli("create", "client", "--redirect-uri", "http://evil.example/cb")
    assert code == 1 and "redirect_uris" in err
    code, _, err = cli("get", "client", "c-nope")
    assert code == 1 and "404" in err
    monkeypatch.setenv("CIAM_ADMIN_TOKEN", "ciam_pat_wrong")
    code, _, err = cli("list", "clients")
    assert code == 1 and "401" in err
    monkeypatch.delenv("CIAM_ADMIN_TOKEN")
    code, _, err = cli("list", "clients")
    assert code == 1 and "CIAM_ADMIN_TOKEN" in err


def test_rotate_secret_client_credentials_introspect_and_revoke(cli):
    _, out, _ = cli(
        "--format",
        "json",
        "create",
        "client",
        "--name",
        "m2m",
        "--grant-type",
        "client_credentials",
        "--scope",
        "email",
    )
    client = json.loads(out)
    code, out, _ = cli("--format", "json", "rotate", "secret", client["client_id"])
    secret = json.loads(out)["client_secret"]
    assert code == 0 and secret != client["client_secret"]

    code, out, _ = cli(
        "--format",
        "json",
        "perform",
        "client-credentials",
        "--client-id",
        client["client_id"],
        "--client-secret",
        secret,
        "--scope",
        "email",
    )
    token = json.loads(out)["access_token"]
    assert code == 0 and token.startswith("ciam_at_")

    code, out, _ = cli("--format", "json", "introspect", "token", token)
    assert json.loads(out)["active"] is True
    assert (
        cli("revoke", "token", token, "--client-id", client["client_id"], "--client-secret", secret)[0] == 0
    )
    _, out, _ = cli("--format", "json", "introspect", "token", token)
    assert json.loads(out)["active"] is False


def test_keys_rotate(cli):
    before = SigningKey.objects.count()
    code, out, _ = cli("keys", "rotate", "--alg", "ES256")
    assert code == 0 and "ES256" in out
    assert SigningKey.objects.count() == before + 1 or before == 0


def test_import_clients_with_progress_and_per_item_errors(cli, tmp_path):
    items = [{"client_name": f"imported-{n}", "grant_types": ["client_credentials"]} for n in range(12)]
    items.append({"client_name": "broken", "redirect_uris": ["http://evil.example/"]})
    path = tmp_path / "clients.json"
    path.write_text(json.dumps(items))
    code, out, err = cli("import", "clients", str(path))
    assert code == 1  # one item failed
    assert Client.objects.filter(name__startswith="imported-").count() == 12
    assert "13/13" in err and "Not imported: #13 (broken)" in err
    assert out.count("ciam_cs_") == 12  # each secret shown once
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    code, _, err = cli("import", "clients", str(bad))
    assert code == 1 and "Cannot read" in err
