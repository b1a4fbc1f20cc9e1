"""ciam.oauth.client_lookup: the client a protocol request names, kept per process and checked
against its revision on every request, so that any change to a client takes effect at once."""

import pytest
from django.test import Client as DjangoClient

from ciam.oauth import client_lookup
from ciam.oauth.models import AccessToken
from clients.models import Client
from clients.services import client_delete, client_secret_rotate, client_set_active, client_update
from tests.helpers import cc, introspect_as, tokens_for

pytestmark = pytest.mark.django_db


def test_it_reads_a_client_once_per_change(m2m_client, django_assert_num_queries):
    client_id = m2m_client.client.client_id
    first = client_lookup.get_client(client_id)
    with django_assert_num_queries(1):  # the revision check alone
        assert client_lookup.get_client(client_id) is first
    client_update(client=m2m_client.client, client_name="renamed")
    with django_assert_num_queries(2):  # the check, then the client read again
        again = client_lookup.get_client(client_id)
    assert again is not first and again.name == "renamed"


@pytest.mark.parametrize(
    "writer",
    [
        lambda c: Client.objects.filter(pk=c.pk).update(name="by a queryset"),
        lambda c: Client.objects.get(pk=c.pk).save(),
        lambda c: Client.objects.get(pk=c.pk).save(update_fields=["name"]),
    ],
    ids=["queryset update", "save", "save of one field"],
)
def test_every_writer_bumps_the_revision(m2m_client, writer):
    # A shell, a migration or Django's admin, not only the services: the model bumps it itself.
    before = Client.objects.get(pk=m2m_client.client.pk).revision
    writer(m2m_client.client)
    assert Client.objects.get(pk=m2m_client.client.pk).revision == before + 1


def test_unknown_and_malformed_ids_are_none(db):
    for client_id in ("c-nope", "", None, 42, "x" * 300, "nul\x00byte"):
        assert client_lookup.get_client(client_id) is None


def _change(client, how):
    if how == "secret rotated":
        return client_secret_rotate(client=client, actor_label="tests").client_secret
    if how == "disabled":
        client_set_active(client=client, active=False, actor_label="tests")
    elif how == "deleted":
        client_delete(client=client, actor_label="tests")
    elif how == "grant removed":
        client_update(
            client=client, grant_types=["authorization_code"], redirect_uris=["https://a.example/cb"]
        )
    elif how == "scope narrowed":
        client_update(client=client, scope="profile")
    elif how == "changed from the shell":
        Client.objects.filter(pk=client.pk).update(is_active=False)
    return None


@pytest.mark.parametrize(
    "how, status, error",
    [
        ("secret rotated", 401, "invalid_client"),
        ("disabled", 401, "invalid_client"),
        ("deleted", 401, "invalid_client"),
        ("grant removed", 400, "unauthorized_client"),
        ("scope narrowed", 400, "invalid_scope"),
        ("changed from the shell", 401, "invalid_client"),
    ],
)
def test_a_change_to_a_client_takes_effect_on_its_next_token_request(m2m_client, how, status, error):
    client_id, secret = m2m_client.client.client_id, m2m_client.client_secret
    assert cc(client_id, secret, scope="email").status_code == 200  # this process keeps the client
    new_secret = _change(m2m_client.client, how)
    tokens = AccessToken.objects.count()

    response = cc(client_id, secret, scope="email")

    assert (response.status_code, response.json()["error"]) == (status, error)
    assert AccessToken.objects.count() == tokens  # nothing was written for the changed client
    if new_secret:
        assert cc(client_id, new_secret, scope="email").status_code == 200


def _change_caller(client, how):
    if how == "secret rotated":
        client_secret_rotate(client=client, actor_label="tests")
    elif how == "disabled":
        client_set_active(client=client, active=False, actor_label="tests")
    elif how == "deleted":
        client_delete(client=client, actor_label="tests")
    elif how == "introspection scope removed":
        client_update(client=client, scope="email")


@pytest.mark.parametrize("token_kind", ["access token", "refresh token", "unknown token"])
@pytest.mark.parametrize(
    "how, status",
    [("secret rotated", 401), ("disabled", 401), ("deleted", 401), ("introspection scope removed", 200)],
)
def test_a_change_to_a_resource_server_takes_effect_on_its_next_introspection(
    make_client, m2m_client, flow, public_client, how, status, token_kind
):
    rs = make_client(client_name="API", grant_types=["client_credentials"], scope="email ciam:introspect")
    token = {
        "access token": lambda: cc(m2m_client.client.client_id, m2m_client.client_secret).json()[
            "access_token"
        ],
        "refresh token": lambda: tokens_for(flow, public_client.client)["refresh_token"],
        "unknown token": lambda: "ciam_at_" + "u" * 43,
    }[token_kind]()

    def introspect():
        return introspect_as(rs.client.client_id, rs.client_secret, token)

    assert introspect().status_code == 200
    _change_caller(rs.client, how)

    answer = introspect()
    assert answer.status_code == status
    if status == 401:
        assert answer.json()["error"] == "invalid_client"
    else:  # no longer a resource server: another client's token is not its to see
        assert answer.json() == {"active": False}


def test_protocol_answers_keep_the_security_headers_and_set_no_cookie(m2m_client, settings):
    settings.SECURE_HSTS_SECONDS = 3600
    response = cc(m2m_client.client.client_id, m2m_client.client_secret, scope="email")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in response and "Content-Security-Policy" not in response
    discovery = DjangoClient().get("/.well-known/openid-configuration", secure=True)
    assert discovery.status_code == 200 and "Strict-Transport-Security" in discovery
    page = DjangoClient().get("/login")
    assert page["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in page


def test_a_host_outside_allowed_hosts_is_refused(settings):
    settings.ALLOWED_HOSTS = ["id.example.com"]
    assert DjangoClient().get("/.well-known/jwks.json", HTTP_HOST="evil.example").status_code == 400
    assert DjangoClient().get("/.well-known/jwks.json", HTTP_HOST="id.example.com").status_code == 200
