"""Protocol paths: a public contract (Ory Hydra v2's), pinned by tests/oauth/test_paths.py."""

from django.urls import path

from ciam.oauth import device, registration, views

app_name = "oauth"

urlpatterns = [
    path(".well-known/openid-configuration", views.discovery, name="discovery"),
    path(".well-known/oauth-authorization-server", views.discovery, name="as-metadata"),
    path(".well-known/jwks.json", views.jwks_view, name="jwks"),
    path("oauth2/auth", views.authorize, name="authorize"),
    path("oauth2/token", views.token, name="token"),
    path("oauth2/revoke", views.revoke, name="revoke"),
    path("oauth2/introspect", views.introspect_view, name="introspect"),
    path("oauth2/device/auth", device.device_authorization, name="device-authorization"),
    path("oauth2/register", registration.register, name="register"),
    path("oauth2/register/<str:client_id>", registration.manage, name="register-client"),
    path("oauth2/sessions/logout", views.logout_view, name="logout"),
    path("userinfo", views.userinfo, name="userinfo"),
    path("health/alive", views.health_alive, name="health-alive"),
    path("health/ready", views.health_ready, name="health-ready"),
]
