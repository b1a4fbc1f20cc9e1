"""RefreshToken.revoke_family: every refresh and access token of a family ends."""

import secrets
import uuid

import pytest

from ciam.lib.crypto import token_checksum
from ciam.oauth.models import AccessToken, RefreshToken
from tests.helpers import access_token_row

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
