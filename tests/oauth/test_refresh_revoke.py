"""RefreshToken.revoke in three statements: the same end state as django-oauth-toolkit's own."""

import secrets
import uuid

import pytest
from oauth2_provider.models import AbstractRefreshToken

from ciam.oauth.crypto import token_checksum
from ciam.oauth.models import AccessToken, RefreshToken
from tests.conftest import access_token_row

pytestmark = pytest.mark.django_db


def _pair(client, user):
    access, _ = access_token_row(client, user)
    refresh = RefreshToken.objects.create(
        token_checksum=token_checksum(secrets.token_urlsafe(32)),
        token="",
        application=client,
        user=user,
        access_token=access,
        token_family=uuid.uuid4(),
        resource=[],
    )
    # An access token minted from this refresh token (what rotation leaves behind).
    successor, _ = access_token_row(client, user, source_refresh_token=refresh)
    return refresh, access, successor


def _state(refresh, access, successor) -> dict:
    row = RefreshToken.objects.get(pk=refresh.pk)
    return {
        "revoked": row.revoked is not None,
        "updated_moved": row.updated > refresh.updated,
        "access_token_id": row.access_token_id,
        "access_exists": AccessToken.objects.filter(pk=access.pk).exists(),
        "successor_source": AccessToken.objects.get(pk=successor.pk).source_refresh_token_id == refresh.pk,
    }


def test_revoke_ends_as_the_toolkits_own_does(public_client, user, django_assert_max_num_queries):
    ours = _pair(public_client.client, user)
    theirs = _pair(public_client.client, user)

    with django_assert_max_num_queries(3):
        ours[0].revoke()
    AbstractRefreshToken.revoke(theirs[0])  # the toolkit's implementation, on the same model

    expected = {
        "revoked": True,
        "updated_moved": True,
        "access_token_id": None,
        "access_exists": False,
        "successor_source": True,
    }
    assert _state(*theirs) == expected
    assert _state(*ours) == expected
    # Like the toolkit's, the instance it was called on is left as it was.
    assert ours[0].revoked is None and ours[0].access_token_id == ours[1].pk


def test_revoking_twice_changes_nothing_the_second_time(public_client, user, django_assert_num_queries):
    refresh, access, successor = _pair(public_client.client, user)
    refresh.revoke()
    first = RefreshToken.objects.get(pk=refresh.pk).revoked
    with django_assert_num_queries(1):  # the locked read finds no live row: nothing else runs
        refresh.revoke()
    assert RefreshToken.objects.get(pk=refresh.pk).revoked == first
    assert AccessToken.objects.filter(pk=successor.pk).exists()


def test_revoking_a_family_also_deletes_its_access_tokens_that_no_refresh_token_links(public_client, user):
    # E.g. the access token from a code redeemed by a client without the refresh grant: tagged
    # with the family, linked to no refresh token. The toolkit's revoke_family would miss it.
    refresh, access, successor = _pair(public_client.client, user)
    family = refresh.token_family
    orphan, _ = access_token_row(public_client.client, user, scope="openid", token_family=family)
    bystander, bystander_access, _ = _pair(public_client.client, user)

    RefreshToken.revoke_family(family)

    assert RefreshToken.objects.get(pk=refresh.pk).revoked is not None
    assert not AccessToken.objects.filter(pk__in=[orphan.pk, access.pk]).exists()
    assert RefreshToken.objects.get(pk=bystander.pk).revoked is None
    assert AccessToken.objects.filter(pk=bystander_access.pk).exists()
