"""The admin REST API's own paths: Ory Hydra v2's (a public contract). The entity apps' API paths
are in their urls.py (clients, identities, consent sessions)."""

from django.urls import path

from ciam.api import apis, schema  # noqa: F401 - schema registers the OpenAPI auth extension
from ciam.api.docs import ApiDocsPage, OpenApiDocument

app_name = "api"

urlpatterns = [
    path("admin/oauth2/introspect", apis.AdminIntrospectApi.as_view(), name="introspect"),
    path("admin/keys/<str:set_name>", apis.KeySetApi.as_view(), name="keys"),
    path("admin/scopes", apis.ScopeListApi.as_view(), name="scopes"),
    path("admin/scopes/<str:name>", apis.ScopeDetailApi.as_view(), name="scope"),
    path("admin/version", apis.AdminVersionApi.as_view(), name="admin-version"),
    path("admin/openapi.json", OpenApiDocument.as_view(), name="schema"),
    path("admin/docs/", ApiDocsPage.as_view(url_name="api:schema"), name="docs"),
    path("version", apis.VersionApi.as_view(), name="version"),
]
