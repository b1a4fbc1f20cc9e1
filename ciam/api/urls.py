"""The admin REST API's paths: Ory Hydra v2's (a public contract)."""

from django.urls import path

from ciam.api import apis, schema  # noqa: F401 - schema registers the OpenAPI auth extension
from ciam.api.docs import ApiDocsPage, OpenApiDocument
from clients import apis as client_apis

urlpatterns = [
    path("admin/clients", client_apis.ClientListApi.as_view(), name="api-clients"),
    path("admin/clients/<str:client_id>", client_apis.ClientDetailApi.as_view(), name="api-client"),
    path(
        "admin/clients/<str:client_id>/secret",
        client_apis.ClientSecretApi.as_view(),
        name="api-client-secret",
    ),
    path("admin/oauth2/introspect", apis.AdminIntrospectApi.as_view(), name="api-introspect"),
    path("admin/oauth2/tokens", apis.ClientTokensApi.as_view(), name="api-tokens"),
    path("admin/oauth2/auth/sessions/consent", apis.ConsentSessionsApi.as_view(), name="api-consents"),
    path("admin/keys/<str:set_name>", apis.KeySetApi.as_view(), name="api-keys"),
    path("admin/identities", apis.IdentityListApi.as_view(), name="api-identities"),
    path("admin/identities/<uuid:identity_id>", apis.IdentityDetailApi.as_view(), name="api-identity"),
    path("admin/version", apis.AdminVersionApi.as_view(), name="api-admin-version"),
    path("admin/openapi.json", OpenApiDocument.as_view(), name="api-schema"),
    path("admin/docs/", ApiDocsPage.as_view(url_name="api-schema"), name="api-docs"),
    path("version", apis.VersionApi.as_view(), name="api-version"),
]
