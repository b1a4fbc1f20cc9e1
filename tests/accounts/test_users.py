import re

import pytest
from django.core.management import call_command
from django.db import IntegrityError

from ciam.accounts.models import User

pytestmark = pytest.mark.django_db


def test_the_email_is_the_login_and_is_case_insensitive():
    user = User.objects.create_user(email="Bob@Example.COM", password="a long password 1")
    assert user.email == "bob@example.com"
    assert User.objects.get_by_natural_key("BOB@example.com") == user
    with pytest.raises(IntegrityError):
        User.objects.create_user(email="bob@example.com", password="x")


def test_the_primary_key_is_a_random_uuid_used_as_the_subject():
    a = User.objects.create_user(email="a@example.com", password="x")
    b = User.objects.create_user(email="b@example.com", password="x")
    assert re.fullmatch(r"[0-9a-f-]{36}", str(a.pk)) and a.pk != b.pk


def test_the_demo_admin_is_created_once_and_its_password_printed_once(capsys):
    call_command("ensure_demo_admin")
    first = capsys.readouterr().out
    password = re.search(r"password: (\S+)", first).group(1)
    admin = User.objects.get(email="admin@demo.user")
    assert admin.is_staff and admin.is_superuser and admin.check_password(password)
    call_command("ensure_demo_admin")
    second = capsys.readouterr().out
    assert password not in second and "already exists" in second
