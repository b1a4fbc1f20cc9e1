"""The production server as configured in deploy/uwsgi.ini, against the test database."""

import pytest
import requests

from tests.helpers import Server, basic, on_postgresql, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), on_postgresql("the production server on PostgreSQL")]


@pytest.fixture
def server():
    running = Server(workers=2)
    yield running
    running.stop()


def test_a_client_that_keeps_connections_gets_every_answer(server, m2m_client):
    # The HTTP socket closes after each response and must say so: an HTTP/1.1 client that keeps
    # connections (requests.Session, most SDKs) would otherwise post into a closed socket.
    web = requests.Session()
    auth = basic(m2m_client.client.client_id, m2m_client.client_secret)
    answers = [
        web.post(
            f"{server.url}/oauth2/token",
            data={"grant_type": "client_credentials", "scope": "email"},
            headers={"Authorization": auth},
            timeout=10,
        )
        for _ in range(30)
    ]
    assert [a.status_code for a in answers] == [200] * 30
    assert all(a.headers["Connection"] == "close" for a in answers)


def test_the_request_log_has_paths_but_never_query_strings(server):
    secret_hint = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNlY3JldA"
    requests.get(f"{server.url}/oauth2/sessions/logout", params={"id_token_hint": secret_hint}, timeout=10)
    requests.get(f"{server.url}/device", params={"user_code": "BCDF-GHJK"}, timeout=10)
    # A worker writes a request's line just after answering it: wait for the lines, then stop.
    wait_until(lambda: '"GET /device"' in server.log_so_far(), timeout=10)
    log = server.stop()
    assert '"GET /oauth2/sessions/logout"' in log and '"GET /device"' in log
    assert "c2lnbmF0dXJlLXNlY3JldA" not in log and "BCDF-GHJK" not in log


def test_a_long_authorization_header_is_served(server):
    # uWSGI's default buffer refuses requests with more than 4 KB of headers.
    answer = requests.get(
        f"{server.url}/userinfo", headers={"Authorization": "Bearer " + "x" * 8000}, timeout=10
    )
    assert answer.status_code == 401
