from django.urls import path

from ciam.console import views

app_name = "console"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("tokens", views.tokens, name="tokens"),
    path("keys", views.keys, name="keys"),
    path("scopes", views.scopes, name="scopes"),
    path("scopes/<str:name>", views.scope_edit, name="scope-edit"),
    path("scopes/<str:name>/delete", views.scope_delete_view, name="scope-delete"),
    path("api-tokens", views.admin_tokens, name="admin-tokens"),
    path("api-tokens/<int:token_id>/revoke", views.admin_token_revoke_view, name="admin-token-revoke"),
    path("audit", views.audit, name="audit"),
    path("audit/export", views.audit_export, name="audit-export"),
    path("settings", views.settings_view, name="settings"),
    path("outbox", views.outbox, name="outbox"),
    path("outbox/<str:name>.html", views.outbox_html, name="outbox-html"),
]
