"""The identity app's management commands: ensure_demo_admin."""

import re

import pytest
from django.core.management import call_command

from ciam.accounts.models import User

pytestmark = pytest.mark.django_db


def test_the_demo_admin_is_created_once_and_its_password_printed_once(capsys):
    call_command("ensure_demo_admin")
    first = capsys.readouterr().out
    password = re.search(r"password: (\S+)", first).group(1)
    admin = User.objects.get(email="admin@demo.user")
    assert admin.is_staff and admin.is_superuser and admin.check_password(password)
    call_command("ensure_demo_admin")
    second = capsys.readouterr().out
    assert password not in second and "already exists" in second
