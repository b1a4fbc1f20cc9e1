"""The README's `ciam` examples, run as written against a live server (the placeholders `c-...`,
`ciam_cs_...` and `ciam_at_...` replaced by what the previous commands printed)."""

import json
import re
import shlex
from pathlib import Path

import pytest

from ciam.api.services import admin_token_create
from ciam.cli.main import main
from clients.models import Client
from tests.helpers import ROOT

pytestmark = pytest.mark.django_db(transaction=True)


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\nexport CIAM_ENDPOINT=.*?\n(.*?)```", text, flags=re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.startswith("ciam ")]


def test_the_readme_examples_run(live_issuer, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("CIAM_ENDPOINT", live_issuer)
    monkeypatch.setenv("CIAM_ADMIN_TOKEN", admin_token_create(actor=None, name="readme")[1])
    monkeypatch.chdir(tmp_path)
    Path("clients.json").write_text(
        json.dumps([{"client_name": "imported", "grant_types": ["client_credentials"]}])
    )
    values: dict[str, str] = {}
    ran = []
    for line in readme_commands():
        if "perform authorization-code" in line:
            continue  # needs a browser: tests/browser/test_cli_authorization_code.py runs it
        argv = shlex.split(line)[1:]
        argv = [values.get(arg, arg) for arg in argv]
        code = main([*argv, "--format", "json"] if "--format" not in argv else argv)
        out, err = capsys.readouterr()
        assert code == 0, (line, err)
        ran.append(argv[:2])
        answer = json.loads(out) if out.strip().startswith(("{", "[")) else {}
        if isinstance(answer, dict):
            if "client_id" in answer and argv[:2] == ["create", "client"]:
                values["c-..."] = answer["client_id"]
            if "client_secret" in answer:
                values["ciam_cs_..."] = answer["client_secret"]
            if "access_token" in answer:
                values["ciam_at_..."] = answer["access_token"]
    assert {
        "version",
        "create",
        "list",
        "update",
        "rotate",
        "perform",
        "introspect",
        "revoke",
        "keys",
        "import",
    } <= {a[0] for a in ran}
    assert Client.objects.get(client_id=values["c-..."]).owner == "data-team"


def test_flags_go_anywhere_and_json_pretty_is_indented(live_issuer, monkeypatch, capsys):
    monkeypatch.setenv("CIAM_ADMIN_TOKEN", admin_token_create(actor=None, name="flags")[1])
    monkeypatch.delenv("CIAM_ENDPOINT", raising=False)
    code = main(
        [
            "create",
            "oauth2-client",
            "--endpoint",
            live_issuer,
            "--format",
            "json",
            "--grant-type",
            "client_credentials",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and out.count("\n") == 1 and json.loads(out)["client_id"].startswith("c-")
    assert main(["--endpoint", live_issuer, "list", "clients", "--format", "json-pretty"]) == 0
    pretty = capsys.readouterr().out
    assert pretty.startswith("[\n  {") and json.loads(pretty)
    assert main(["version", "-e", live_issuer]) == 0
    assert "Server" in capsys.readouterr().out


def test_revoking_for_a_confidential_client_without_its_secret_says_what_is_needed(
    live_issuer, monkeypatch, capsys
):
    monkeypatch.setenv("CIAM_ENDPOINT", live_issuer)
    monkeypatch.setenv("CIAM_ADMIN_TOKEN", admin_token_create(actor=None, name="revoke")[1])
    main(["create", "client", "--grant-type", "client_credentials", "--format", "json"])
    client_id = json.loads(capsys.readouterr().out)["client_id"]
    code = main(["revoke", "token", "ciam_at_whatever", "--client-id", client_id])
    err = capsys.readouterr().err
    assert code == 1 and "--client-secret" in err and "confidential" in err
