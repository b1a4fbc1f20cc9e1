"""ciam.accounts.models: the person's identity."""

import re

import pytest
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
