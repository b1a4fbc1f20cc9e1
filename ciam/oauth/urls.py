"""Protocol paths: a public contract (Ory Hydra v2's), pinned by tests/oauth/test_urls.py.

(Dynamic client registration, /oauth2/register, belongs to the client registry: clients/urls.py.)
"""

from django.urls import path

from ciam.oauth.views import authorize, device, discovery, introspect, logout, token, userinfo

app_name = "oauth"

urlpatterns = [
    path(".well-known/openid-configuration", discovery.discovery, name="discovery"),
    path(".well-known/oauth-authorization-server", discovery.discovery, name="as-metadata"),
    path(".well-known/jwks.json", discovery.jwks_view, name="jwks"),
    path("oauth2/auth", authorize.authorize, name="authorize"),
    path("oauth2/token", token.token, name="token"),
    path("oauth2/revoke", token.revoke, name="revoke"),
    path("oauth2/introspect", introspect.introspect_view, name="introspect"),
    path("oauth2/device/auth", device.device_authorization, name="device-authorization"),
    path("oauth2/sessions/logout", logout.logout_view, name="logout"),
    path("userinfo", userinfo.userinfo, name="userinfo"),
]
