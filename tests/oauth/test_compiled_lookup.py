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


# --- The sign-in's user and the code exchange's grant, compiled the same way ------------------


def test_the_sign_in_finds_the_user_the_orm_finds(user, django_assert_num_queries):
    User.objects.create_user(email="other@example.com", password="x")
    with django_assert_num_queries(1):
        found = User.objects.get_by_natural_key("  Alice@Example.com ")  # case and spaces ignored
    assert _fields(found) == _fields(User.objects.get(email="alice@example.com"))
    assert User.objects.get_by_natural_key("other@example.com").email == "other@example.com"
    with pytest.raises(User.DoesNotExist):
        User.objects.get_by_natural_key("nobody@example.com")


def test_the_code_exchange_finds_the_grant_and_its_user_the_orm_finds(flow, public_client, user):
    from ciam.oauth.models import Grant
    from tests.conftest import pkce_pair

    _, challenge = pkce_pair()
    code = flow.code(public_client.client.client_id, challenge=challenge, scope="openid email")
    expected = Grant.objects.select_related("user").filter(code=code).first()
    validator = CiamValidator()

    class Request:  # what oauthlib passes: any object that takes attributes
        pass

    loaded = validator._grant(code, Request())
    assert _fields(loaded) == _fields(expected) and _fields(loaded.user) == _fields(expected.user)
    assert validator._grant("ciam_ac_unknown", Request()) is None
    assert validator._grant(expected.code, Request()) is None  # the stored digest is not a code


def test_the_remembered_consent_is_found_per_person_and_client(user, public_client, confidential_client):
    # Two values of other types than text (a UUID and an integer key), each prepared by its field.
    from consent.models import Consent
    from consent.selectors import consent_for

    other = User.objects.create_user(email="other@example.com", password="x")
    mine = Consent.objects.create(user=user, client=public_client.client, scopes=["openid"], remember=True)
    theirs = Consent.objects.create(user=other, client=confidential_client.client, scopes=["email"])
    assert _fields(consent_for(user=user, client=public_client.client)) == _fields(mine)
    assert _fields(consent_for(user=other, client=confidential_client.client)) == _fields(theirs)
    assert consent_for(user=user, client=confidential_client.client) is None
    assert consent_for(user=other, client=public_client.client) is None


def test_a_lookup_that_does_not_use_each_value_once_is_refused():
    lookup = CompiledLookup(lambda email: User.objects.filter(email="fixed@example.com"))
    with pytest.raises(ValueError, match="each value exactly once"):
        lookup.get("alice@example.com")
