"""ciam.oauth.models: nothing usable at rest; a token family revoked at once."""

import secrets
import uuid

import pytest
from django.db import connection
from django.test import Client as DjangoClient

from ciam.lib.crypto import token_checksum
from ciam.oauth.models import AccessToken, RefreshToken
from tests.helpers import access_token_row, cc, exchange, form_post, pkce_pair

pytestmark = pytest.mark.django_db


def dump_database() -> str:
    """Every text value of every table, as a database dump would show them."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                chunks.extend(str(value) for value in row if value is not None)
    return "\n".join(chunks)


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


def test_raw_tokens_codes_and_secrets_appear_nowhere_in_the_database(flow, public_client, m2m_client):
    verifier, challenge = pkce_pair()
    code = flow.code(public_client.client.client_id, challenge=challenge, scope="openid email")
    user_tokens = exchange(DjangoClient(), public_client.client.client_id, code, verifier).json()
    rotated = form_post(
        DjangoClient(),
        "/oauth2/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": user_tokens["refresh_token"],
            "client_id": public_client.client.client_id,
        },
    ).json()
    machine = cc(m2m_client.client.client_id, m2m_client.client_secret).json()

    dump = dump_database()

    secrets_issued = [
        code,
        user_tokens["access_token"],
        user_tokens["refresh_token"],
        rotated["access_token"],
        rotated["refresh_token"],
        machine["access_token"],
        m2m_client.client_secret,
    ]
    for value in secrets_issued:
        assert value not in dump
        # Nor the random part without its prefix.
        assert value.split("_", 2)[-1] not in dump


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
