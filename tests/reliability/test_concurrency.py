"""Races: many requests at once on one refresh token, one code, one client.

Each request runs in its own thread with its own database connection, released together by a
barrier, so on PostgreSQL they really overlap (row locks, not luck, decide the outcome).
"""

import json
import threading
from collections import Counter

import pytest
from django.db import connection
from django.test import Client as DjangoClient

from ciam.api.services import admin_token_create
from ciam.oauth.models import AccessToken, RefreshToken
from tests.helpers import CALLBACK, exchange, form_post, on_postgresql, pkce_pair

PARALLEL = 20

pytestmark = [
    pytest.mark.django_db(transaction=True),
    on_postgresql("needs concurrent connections"),
]


def race(call, count=PARALLEL):
    """Run `call(i)` in `count` threads released at the same instant; return their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def worker(i):
        try:
            barrier.wait(timeout=30)
            results[i] = call(i)
        except BaseException as exc:  # reported below, with the thread's own traceback
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request never finished (deadlock?)"
    assert not errors, errors
    return results


def statuses(responses):
    return Counter(response.status_code for response in responses)


def test_parallel_refreshes_with_one_token_yield_one_success_and_revoke_the_family(flow, public_client):
    client_id = public_client.client.client_id
    verifier, challenge = pkce_pair()
    code = flow.code(client_id, challenge=challenge, scope="openid")
    first = exchange(DjangoClient(), client_id, code, verifier).json()

    responses = race(
        lambda i: form_post(
            DjangoClient(),
            "/oauth2/token",
            {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": client_id},
        )
    )

    assert statuses(responses) == {200: 1, 400: PARALLEL - 1}, statuses(responses)
    refused = [r.json() for r in responses if r.status_code == 400]
    assert {body["error"] for body in refused} == {"invalid_grant"}
    winner = next(r.json() for r in responses if r.status_code == 200)
    # The losers presented a used refresh token: that is reuse, so the whole family is revoked,
    # the winner's new tokens included.
    assert not RefreshToken.objects.filter(application=public_client.client, revoked__isnull=True).exists()
    again = form_post(
        DjangoClient(),
        "/oauth2/token",
        {"grant_type": "refresh_token", "refresh_token": winner["refresh_token"], "client_id": client_id},
    )
    assert again.status_code == 400
    userinfo = DjangoClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {winner['access_token']}")
    assert userinfo.status_code == 401


def test_parallel_exchanges_of_one_code_issue_exactly_one_token_set(flow, public_client):
    client_id = public_client.client.client_id
    verifier, challenge = pkce_pair()
    code = flow.code(client_id, challenge=challenge, scope="openid")

    responses = race(lambda i: exchange(DjangoClient(), client_id, code, verifier))

    assert statuses(responses) == {200: 1, 400: PARALLEL - 1}, statuses(responses)
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}
    # One token set was ever written (the replays then revoked it, as a replay must).
    assert AccessToken.objects.filter(application=public_client.client).count() <= 1
    assert RefreshToken.objects.filter(application=public_client.client).count() == 1


def test_parallel_patches_of_one_client_all_land(make_client):
    client = make_client(client_name="Raced", redirect_uris=[CALLBACK], scope="openid").client
    token = admin_token_create(actor=None, name="race")[1]

    def add_uri(i):
        return DjangoClient(HTTP_AUTHORIZATION=f"Bearer {token}").patch(
            f"/admin/clients/{client.client_id}",
            json.dumps(
                [{"op": "add", "path": "/redirect_uris/-", "value": f"https://app{i}.example.com/cb"}]
            ),
            content_type="application/json",
        )

    responses = race(add_uri)

    assert statuses(responses) == {200: PARALLEL}, [r.content for r in responses if r.status_code != 200]
    client.refresh_from_db()
    assert len(client.redirect_uris.split()) == PARALLEL + 1  # no patch overwrote another
    assert client.revision == 1 + PARALLEL


def test_parallel_edits_from_the_same_revision_conflict_instead_of_losing_one(make_client):
    from clients.services import ClientConflict, client_update

    client = make_client(client_name="Edited", redirect_uris=[CALLBACK], scope="openid").client
    seen = client.revision

    def edit(i):
        try:
            client_update(client=client, client_name=f"name {i}", expected_revision=seen)
            return "saved"
        except ClientConflict as exc:
            assert "changed by someone else" in str(exc)
            return "conflict"

    outcomes = Counter(race(edit))

    assert outcomes == {"saved": 1, "conflict": PARALLEL - 1}
    client.refresh_from_db()
    assert client.revision == seen + 1
