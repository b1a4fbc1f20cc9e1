"""The API app's management commands: create_admin_token."""

import re

import pytest
from django.core.management import CommandError, call_command

from ciam.api.services import admin_token_authenticate

pytestmark = pytest.mark.django_db


def test_create_admin_token_prints_the_token_as_the_last_line(capsys):
    call_command("create_admin_token", "deploy pipeline")
    out = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"ciam_pat_[A-Za-z0-9_\-]{43}", out[-1])
    assert admin_token_authenticate(out[-1]).name == "deploy pipeline"
    with pytest.raises(CommandError):
        call_command("create_admin_token", "  ")
