"""The client registry's paths: its console pages, its admin API (Hydra's) and dynamic
registration (RFC 7591/7592). The API and registration paths are a public contract."""

from django.urls import path

from clients import apis, registration, views

app_name = "clients"

urlpatterns = [
    # Console pages.
    path("console/clients/", views.client_list, name="list"),
    path("console/clients/new", views.client_new, name="new"),
    path("console/clients/validate-redirect-uri", views.validate_redirect_uri, name="validate-redirect-uri"),
    path("console/clients/<str:client_id>", views.client_detail, name="detail"),
    path("console/clients/<str:client_id>/edit", views.client_edit, name="edit"),
    path("console/clients/<str:client_id>/rotate-secret", views.client_rotate_secret, name="rotate-secret"),
    path("console/clients/<str:client_id>/toggle", views.client_toggle, name="toggle"),
    path("console/clients/<str:client_id>/delete", views.client_delete_view, name="delete"),
    path(
        "console/clients/<str:client_id>/tokens/<int:token_id>/revoke",
        views.client_token_revoke,
        name="token-revoke",
    ),
    path(
        "console/clients/<str:client_id>/consents/<int:consent_id>/revoke",
        views.client_consent_revoke,
        name="consent-revoke",
    ),
    path("console/clients/<str:client_id>/try", views.client_try, name="try"),
    path(
        "console/clients/<str:client_id>/try/<str:key>/callback",
        views.client_try_callback,
        name="try-callback",
    ),
    path("console/clients/<str:client_id>/try/<str:key>/revoke", views.client_try_revoke, name="try-revoke"),
    # Admin API (Ory Hydra v2's paths).
    path("admin/clients", apis.ClientListApi.as_view(), name="api-clients"),
    path("admin/clients/<str:client_id>", apis.ClientDetailApi.as_view(), name="api-client"),
    path("admin/clients/<str:client_id>/secret", apis.ClientSecretApi.as_view(), name="api-client-secret"),
    path("admin/oauth2/tokens", apis.ClientTokensApi.as_view(), name="api-tokens"),
    # Dynamic client registration.
    path("oauth2/register", registration.register, name="register"),
    path("oauth2/register/<str:client_id>", registration.manage, name="register-client"),
]
