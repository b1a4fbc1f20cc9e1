from django.urls import path

from clients import views

app_name = "clients"

urlpatterns = [
    path("", views.client_list, name="list"),
    path("new", views.client_new, name="new"),
    path("validate-redirect-uri", views.validate_redirect_uri, name="validate-redirect-uri"),
    path("<str:client_id>", views.client_detail, name="detail"),
    path("<str:client_id>/edit", views.client_edit, name="edit"),
    path("<str:client_id>/rotate-secret", views.client_rotate_secret, name="rotate-secret"),
    path("<str:client_id>/toggle", views.client_toggle, name="toggle"),
    path("<str:client_id>/delete", views.client_delete_view, name="delete"),
    path("<str:client_id>/tokens/<int:token_id>/revoke", views.client_token_revoke, name="token-revoke"),
    path(
        "<str:client_id>/consents/<int:consent_id>/revoke", views.client_consent_revoke, name="consent-revoke"
    ),
    path("<str:client_id>/console-redirect", views.client_add_console_redirect, name="add-console-redirect"),
    path("<str:client_id>/try", views.client_try, name="try"),
    path("<str:client_id>/try/callback", views.client_try_callback, name="try-callback"),
]
