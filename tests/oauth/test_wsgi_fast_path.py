"""The WSGI fast path (ciam.oauth.fastpath) answers exactly what Django would, or leaves it to Django.

Every other token and introspection test also runs through it (tests/conftest.py sends the test
client's requests through it first); these compare it with Django's own handler directly.
"""

import io
import json
from urllib.parse import urlencode

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import OperationalError, close_old_connections

from ciam.oauth import fastpath
from tests.conftest import access_token_row, basic, terminate_backend
from tests.reliability.servers import on_postgresql

pytestmark = pytest.mark.django_db


def environ_for(path: str, params: dict | bytes, auth: str | None, **extra) -> dict:
    body = params if isinstance(params, bytes) else urlencode(params).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
    }
    if auth is not None:
        environ["HTTP_AUTHORIZATION"] = auth
    environ.update(extra)
    return environ


def without_connection_recycling(call):
    # As Django's test client does: the test's transaction keeps its connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        return call()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def fast(environ):
    return without_connection_recycling(lambda: fastpath.answer(environ))


def django_handler(environ):
    """Django's own handler, without the fast path: (status, headers, body)."""
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured.update(status=status, headers=headers)

    body = without_connection_recycling(lambda: b"".join(WSGIHandler()(environ, start_response)))
    return captured["status"], captured["headers"], body


def header_map(headers) -> dict:
    return {name.lower(): value for name, value in headers}


def credentials(made) -> str:
    return basic(made.client.client_id, made.client_secret)


@pytest.mark.parametrize("secure", [False, True])
def test_an_introspection_is_the_same_answer_django_gives(resource_server, m2m_client, settings, secure):
    settings.SECURE_HSTS_SECONDS = 3600
    _row, raw = access_token_row(m2m_client.client, scope="email")
    scheme = {"wsgi.url_scheme": "https" if secure else "http"}
    params = {"token": raw, "token_type_hint": "access_token"}
    expected = django_handler(
        environ_for("/oauth2/introspect", params, credentials(resource_server), **scheme)
    )
    served = fast(environ_for("/oauth2/introspect", params, credentials(resource_server), **scheme))
    assert served is not None, "the plain case is the fast path's"
    assert served[0] == expected[0] == "200 OK"
    assert header_map(served[1]) == header_map(expected[1])
    assert served[2] == expected[2]
    assert json.loads(served[2])["active"] is True
    assert ("strict-transport-security" in header_map(served[1])) is secure


def test_an_inactive_answer_is_the_same_too(resource_server):
    params = {"token": "ciam_at_" + "x" * 43}
    expected = django_handler(environ_for("/oauth2/introspect", params, credentials(resource_server)))
    served = fast(environ_for("/oauth2/introspect", params, credentials(resource_server)))
    assert served is not None and served[2] == expected[2] == b'{"active": false}'
    assert header_map(served[1]) == header_map(expected[1])


def test_a_token_is_issued_with_the_answer_django_gives(m2m_client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    params = {"grant_type": "client_credentials", "scope": "email"}
    behind_tls = {"HTTP_X_FORWARDED_PROTO": "https"}
    expected = django_handler(environ_for("/oauth2/token", params, credentials(m2m_client), **behind_tls))
    served = fast(environ_for("/oauth2/token", params, credentials(m2m_client), **behind_tls))
    assert served is not None
    assert served[0] == expected[0] == "200 OK"
    assert header_map(served[1]) == header_map(expected[1])
    assert "strict-transport-security" in header_map(served[1])
    ours, theirs = json.loads(served[2]), json.loads(expected[2])
    assert ours.keys() == theirs.keys()
    assert ours["access_token"] != theirs["access_token"]
    assert {k: v for k, v in ours.items() if k != "access_token"} == {
        k: v for k, v in theirs.items() if k != "access_token"
    }
    # The token it issued is a real one.
    from ciam.oauth.introspection import introspect

    assert introspect(ours["access_token"])["active"] is True


def _not_plain(m2m_client, resource_server):
    cc = {"grant_type": "client_credentials"}
    good = credentials(m2m_client)
    return {
        "an Origin (CORS is Django's)": ("/oauth2/token", cc, good, {"HTTP_ORIGIN": "https://spa.example"}),
        "a query string": ("/oauth2/token", cc, good, {"QUERY_STRING": "grant_type=client_credentials"}),
        "GET": ("/oauth2/token", cc, good, {"REQUEST_METHOD": "GET"}),
        "multipart": ("/oauth2/token", cc, good, {"CONTENT_TYPE": "multipart/form-data; boundary=x"}),
        "no Content-Length": ("/oauth2/token", cc, good, {"CONTENT_LENGTH": ""}),
        "a body over 8 KB": ("/oauth2/token", {**cc, "scope": "e" * 9000}, good, {}),
        "a repeated parameter": ("/oauth2/token", b"grant_type=client_credentials&scope=a&scope=b", good, {}),
        "credentials in the body": ("/oauth2/token", {**cc, "client_secret": "x"}, good, {}),
        "a NUL": ("/oauth2/token", {**cc, "scope": "email\x00"}, good, {}),
        "a NUL in the credentials": ("/oauth2/token", cc, basic("a\x00", "b"), {}),
        "non-ASCII": ("/oauth2/token", "grant_type=client_credentials&scope=é".encode(), good, {}),
        "a host outside ALLOWED_HOSTS": ("/oauth2/token", cc, good, {"HTTP_HOST": "evil.example"}),
        "X-Forwarded-Host": ("/oauth2/token", cc, good, {"HTTP_X_FORWARDED_HOST": "evil.example"}),
        "no Basic credentials": ("/oauth2/token", cc, None, {}),
        "a bearer header": ("/oauth2/token", cc, "Bearer abc", {}),
        "a wrong secret": ("/oauth2/token", cc, basic(m2m_client.client.client_id, "wrong"), {}),
        "an unknown client": ("/oauth2/token", cc, basic("nobody", "x"), {}),
        "another grant": ("/oauth2/token", {"grant_type": "authorization_code", "code": "x"}, good, {}),
        "a scope the client may not have": ("/oauth2/token", {**cc, "scope": "openid admin"}, good, {}),
        "an introspection without a token": (
            "/oauth2/introspect",
            {"token": ""},
            credentials(resource_server),
            {},
        ),
        "an introspection by a wrong secret": (
            "/oauth2/introspect",
            {"token": "x"},
            basic(resource_server.client.client_id, "wrong"),
            {},
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "an Origin (CORS is Django's)",
        "a query string",
        "GET",
        "multipart",
        "no Content-Length",
        "a body over 8 KB",
        "a repeated parameter",
        "credentials in the body",
        "a NUL",
        "a NUL in the credentials",
        "non-ASCII",
        "a host outside ALLOWED_HOSTS",
        "X-Forwarded-Host",
        "no Basic credentials",
        "a bearer header",
        "a wrong secret",
        "an unknown client",
        "another grant",
        "a scope the client may not have",
        "an introspection without a token",
        "an introspection by a wrong secret",
    ],
)
def test_anything_but_the_plain_case_is_left_to_django_with_its_body(case, m2m_client, resource_server):
    path, params, auth, extra = _not_plain(m2m_client, resource_server)[case]
    environ = environ_for(path, params, auth, **extra)
    sent = environ["wsgi.input"].getvalue()
    assert fast(environ) is None
    length = int(environ["CONTENT_LENGTH"] or 0)
    assert environ["wsgi.input"].read(length) == sent[:length]  # Django reads the same body


def test_an_http_request_is_left_to_django_when_https_is_required(m2m_client, settings):
    settings.SECURE_SSL_REDIRECT = True
    cc = {"grant_type": "client_credentials"}
    assert fast(environ_for("/oauth2/token", cc, credentials(m2m_client))) is None
    served = fast(environ_for("/oauth2/token", cc, credentials(m2m_client), **{"wsgi.url_scheme": "https"}))
    assert served is not None and served[0] == "200 OK"


def test_refusals_left_to_django_get_django_s_errors(client, m2m_client, resource_server):
    # Through the test client, which asks the fast path first, as uWSGI's handler does.
    wrong = client.post(
        "/oauth2/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(m2m_client.client.client_id, "wrong"),
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert not getattr(wrong, "ciam_fast_path", False)
    repeated = client.post(
        "/oauth2/introspect",
        "token=a&token=b",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=credentials(resource_server),
    )
    assert (
        repeated.status_code == 400
        and "'token' was sent more than once" in repeated.json()["error_description"]
    )
    plain = client.post(
        "/oauth2/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=credentials(m2m_client),
    )
    assert plain.status_code == 200 and plain.ciam_fast_path is True


def test_a_database_error_on_the_fast_path_is_served_again_by_django(client, resource_server, monkeypatch):
    _row, raw = access_token_row(resource_server.client, scope="email")
    failures = []

    def fails(*args, **kwargs):
        failures.append(1)
        raise OperationalError("connection lost")

    monkeypatch.setattr(fastpath, "introspect", fails)
    response = client.post(
        "/oauth2/introspect",
        urlencode({"token": raw}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=credentials(resource_server),
    )
    assert failures == [1]
    assert response.status_code == 200 and response.json()["active"] is True
    assert not getattr(response, "ciam_fast_path", False)


def test_the_fast_path_sends_django_s_request_signals(m2m_client):
    # Database connections are checked and recycled on these, as for any Django request.
    seen = []

    def started(**kwargs):
        seen.append("started")

    def finished(**kwargs):
        seen.append("finished")

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        served = fast(
            environ_for("/oauth2/token", {"grant_type": "client_credentials"}, credentials(m2m_client))
        )
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    assert served is not None and seen == ["started", "finished"]


def test_the_production_application_is_the_fast_path_handler():
    from ciam.wsgi import application

    assert isinstance(application, fastpath.FastPathHandler)


class _SendSpy:
    """Counts a signal's sends (the signal itself still sends)."""

    def __init__(self, signal, monkeypatch):
        self.sent, original = [], signal.send

        def send(sender, **named):
            self.sent.append(sender)
            return original(sender, **named)

        monkeypatch.setattr(signal, "send", send)


@on_postgresql("it ends a PostgreSQL backend")
@pytest.mark.django_db(transaction=True)  # the request recycles connections, as under uWSGI
def test_with_only_django_s_receivers_connections_are_recycled_without_sending_the_signals(
    resource_server, monkeypatch
):
    import time

    from django.db import connections

    _row, raw = access_token_row(resource_server.client, scope="email")
    started, finished = _SendSpy(request_started, monkeypatch), _SendSpy(request_finished, monkeypatch)

    def introspection():
        return fastpath.answer(
            environ_for("/oauth2/introspect", {"token": raw}, credentials(resource_server))
        )

    wrapper = connections["default"]
    monkeypatch.setitem(wrapper.settings_dict, "CONN_MAX_AGE", 600)
    wrapper.close()
    wrapper.ensure_connection()
    old_pid = wrapper.connection.info.backend_pid
    wrapper.close_at = time.monotonic() - 1  # past its CONN_MAX_AGE: Django closes it first

    served = introspection()
    assert served is not None and json.loads(served[2])["active"] is True
    assert started.sent == [] and finished.sent == []
    # The obsolete connection was closed before the request; the new one stays for the next.
    assert wrapper.connection is not None and wrapper.connection.info.backend_pid != old_pid
    new_pid = wrapper.connection.info.backend_pid
    assert introspection()
    assert wrapper.connection.info.backend_pid == new_pid

    # A connection lost during the request: Django's handler serves it again, and the broken
    # connection is closed at the end of the request, as Django's handler does.
    terminate_backend(new_pid)
    assert introspection() is None
    assert wrapper.connection is None


@pytest.mark.django_db(transaction=True)
def test_with_another_receiver_or_debug_the_signals_are_sent(resource_server, monkeypatch, settings):
    _row, raw = access_token_row(resource_server.client, scope="email")
    started, finished = _SendSpy(request_started, monkeypatch), _SendSpy(request_finished, monkeypatch)

    def request():
        environ = environ_for("/oauth2/introspect", {"token": raw}, credentials(resource_server))
        assert fastpath.answer(environ) is not None

    def other_receiver(**kwargs):
        pass

    request_finished.connect(other_receiver)
    try:
        request()
    finally:
        request_finished.disconnect(other_receiver)
    assert len(started.sent) == len(finished.sent) == 1
    settings.DEBUG = True
    request()
    assert len(started.sent) == len(finished.sent) == 2
    settings.DEBUG = False
    request()
    assert len(started.sent) == len(finished.sent) == 2
