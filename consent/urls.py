from django.urls import path

from consent import apis, device, views

app_name = "consent"

urlpatterns = [
    path("", views.home, name="home"),
    path("logout", views.logout_view, name="logout"),
    path("consent", views.consent_view, name="consent"),
    path("device", device.device_view, name="device"),
    path("account/apps", views.account_apps, name="account-apps"),
    path("account/apps/<str:client_id>/revoke", views.account_app_revoke, name="account-app-revoke"),
    path("error", views.error_view, name="error"),
    # Admin API: a subject's consent sessions (Ory Hydra v2's path).
    path("admin/oauth2/auth/sessions/consent", apis.ConsentSessionsApi.as_view(), name="api-consents"),
]
