"""The access-token lookup behind userinfo, compiled once: the same instances as the toolkit's
own queryset, the new parameter every time, and nothing for an unknown token."""

import secrets

import pytest

from ciam.accounts.models import User
from ciam.oauth.compiled import CompiledLookup
from ciam.oauth.crypto import token_checksum
from ciam.oauth.models import AccessToken
from ciam.oauth.validator import CiamValidator
from tests.conftest import access_token_row

pytestmark = pytest.mark.django_db


def _token(client, user=None) -> str:
    return access_token_row(client, user, resource=["https://api.example"] if user is None else [])[1]


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def _toolkits_own(raw: str):
    # What django-oauth-toolkit's OAuth2Validator._load_access_token runs.
    return (
        AccessToken.objects.select_related("application", "user")
        .filter(token_checksum=token_checksum(raw))
        .first()
    )


@pytest.mark.parametrize("with_user", [True, False], ids=["a person's token", "a client's own token"])
def test_the_compiled_lookup_gives_the_instances_the_toolkits_query_gives(
    with_user, public_client, m2m_client, user, django_assert_num_queries
):
    client = public_client.client if with_user else m2m_client.client
    raw = _token(client, user if with_user else None)
    expected = _toolkits_own(raw)

    with django_assert_num_queries(1):
        loaded = CiamValidator()._load_access_token(raw)
        assert _fields(loaded) == _fields(expected)
        assert _fields(loaded.application) == _fields(expected.application)  # no further query
        if with_user:
            assert _fields(loaded.user) == _fields(expected.user)
        else:
            assert loaded.user is None
    assert loaded.is_valid(["openid"]) == expected.is_valid(["openid"])
    assert loaded.resource == expected.resource and isinstance(loaded.expires, type(expected.expires))


def test_each_lookup_runs_with_its_own_token(public_client, user):
    other = User.objects.create_user(email="other@example.com", password="x")
    first, second = _token(public_client.client, user), _token(public_client.client, other)
    validator = CiamValidator()
    assert validator._load_access_token(first).user == user
    assert validator._load_access_token(second).user == other
    assert validator._load_access_token(first).user == user
    assert validator._load_access_token("ciam_at_" + secrets.token_urlsafe(32)) is None
    assert validator._load_access_token("") is None


def test_a_lookup_must_take_its_value_exactly_once():
    twice = CompiledLookup(lambda value: AccessToken.objects.filter(token_checksum=value, token=value))
    with pytest.raises(ValueError, match="exactly once"):
        twice.get("x")
