"""The admin API's OpenAPI document (ciam.api.schema, ciam.api.docs): valid, complete, and true to
the API (schemathesis)."""

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client as DjangoClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from ciam.api.services import admin_token_create
from ciam.wsgi import application

pytestmark = pytest.mark.django_db


OPERATIONS = {
    ("/admin/clients", "get"),
    ("/admin/clients", "post"),
    ("/admin/clients/{client_id}", "get"),
    ("/admin/clients/{client_id}", "put"),
    ("/admin/clients/{client_id}", "patch"),
    ("/admin/clients/{client_id}", "delete"),
    ("/admin/clients/{client_id}/secret", "post"),
    ("/admin/oauth2/introspect", "post"),
    ("/admin/oauth2/tokens", "delete"),
    ("/admin/oauth2/auth/sessions/consent", "get"),
    ("/admin/oauth2/auth/sessions/consent", "delete"),
    ("/admin/oauth2/auth/sessions/login", "delete"),
    ("/admin/keys/{set_name}", "get"),
    ("/admin/keys/{set_name}", "post"),
    ("/admin/identities", "get"),
    ("/admin/identities", "post"),
    ("/admin/identities/{identity_id}", "get"),
    ("/admin/identities/{identity_id}", "patch"),
    ("/admin/identities/{identity_id}", "delete"),
    ("/admin/identities/{identity_id}/credentials/{credential_type}", "get"),
    ("/admin/identities/{identity_id}/credentials/{credential_type}", "delete"),
    ("/admin/recovery/link", "post"),
    ("/admin/oauth2/auth/requests/login", "get"),
    ("/admin/oauth2/auth/requests/login/accept", "put"),
    ("/admin/oauth2/auth/requests/login/reject", "put"),
    ("/admin/oauth2/auth/requests/consent", "get"),
    ("/admin/oauth2/auth/requests/consent/accept", "put"),
    ("/admin/oauth2/auth/requests/consent/reject", "put"),
    ("/admin/oauth2/auth/requests/logout", "get"),
    ("/admin/oauth2/auth/requests/logout/accept", "put"),
    ("/admin/oauth2/auth/requests/logout/reject", "put"),
    ("/admin/oauth2/auth/requests/device/accept", "put"),
    ("/admin/scopes", "get"),
    ("/admin/scopes", "post"),
    ("/admin/scopes/{name}", "get"),
    ("/admin/scopes/{name}", "patch"),
    ("/admin/scopes/{name}", "delete"),
    ("/admin/version", "get"),
    ("/version", "get"),
    # The public endpoints, described beside the admin API (ciam.api.schema.PUBLIC_PATHS).
    ("/.well-known/openid-configuration", "get"),
    ("/.well-known/jwks.json", "get"),
    ("/oauth2/auth", "get"),
    ("/oauth2/token", "post"),
    ("/oauth2/revoke", "post"),
    ("/oauth2/introspect", "post"),
    ("/oauth2/device/auth", "post"),
    ("/userinfo", "get"),
    ("/oauth2/sessions/logout", "get"),
    ("/oauth2/register", "post"),
    ("/health/alive", "get"),
    ("/health/ready", "get"),
}


@pytest.fixture
def admin_header(db):
    return {"Authorization": f"Bearer {admin_token_create(actor=None, name='openapi')[1]}"}


@pytest.fixture
def document(admin_header):
    response = DjangoClient().get("/admin/openapi.json", HTTP_AUTHORIZATION=admin_header["Authorization"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


@pytest.fixture
def wsgi_schema(document, admin_header):

    schema = schemathesis.openapi.from_dict(document)
    schema.app = application
    # In-process requests must not close the test's database connection between calls (Django's
    # test client disconnects these handlers the same way).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schema
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_document_is_valid_openapi_and_lists_every_operation(document, tmp_path):
    from openapi_spec_validator import validate

    validate(document)
    listed = {(path, method) for path, item in document["paths"].items() for method in item}
    assert listed >= OPERATIONS
    assert document["components"]["securitySchemes"]["adminBearer"]["scheme"] == "bearer"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("summary") and operation.get("description"), f"{method.upper()} {path}"
    assert document["paths"]["/oauth2/token"]["post"]["security"] == [{"clientBasic": []}, {}]
    assert document["paths"]["/.well-known/jwks.json"]["get"]["security"] == []
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))


def test_the_document_and_the_docs_page_are_for_administrators_only(user):
    assert DjangoClient().get("/admin/openapi.json").status_code == 401
    page = DjangoClient().get("/admin/docs/")
    assert page.status_code == 302 and page["Location"].startswith("/login")
    web = DjangoClient()
    web.force_login(user)
    assert web.get("/admin/docs/").status_code == 403


def test_the_docs_page_is_served_from_vendored_assets(admin_header, django_user_model):
    staff = django_user_model.objects.create_user(email="ops@example.com", password="x", is_staff=True)
    web = DjangoClient()
    web.force_login(staff)
    page = web.get("/admin/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert web.get("/admin/openapi.json").status_code == 200  # the page's own fetch, by session


def test_schemathesis_finds_no_server_error_and_no_response_off_the_schema(wsgi_schema, admin_header):
    from hypothesis import given
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    failures: list[str] = []
    calls: list[int] = []

    def runner(operation):
        @hypothesis_settings(
            max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy())
        def run(case):
            calls.append(case.call_and_validate(headers=admin_header, checks=checks).status_code)

        return run

    operations = [result.ok() for result in wsgi_schema.get_all_operations()]
    for operation in operations:
        try:
            runner(operation)()
        except Exception as exc:  # noqa: BLE001 - reported with the operation it came from
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures[:5])
    assert len(operations) == len(OPERATIONS)
    assert len(calls) >= 5 * len(operations)  # every operation was really exercised
    assert 500 not in calls
    assert {200, 201, 204} & set(calls) and {400, 404} & set(calls)  # both accepted and refused input
