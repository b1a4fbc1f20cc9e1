from django.urls import path

from consent import apis, device, provider_apis, views

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
    path("admin/oauth2/auth/sessions/login", apis.LoginSessionsApi.as_view(), name="api-login-sessions"),
]

# Hydra v2's login and consent provider API, at its paths and at its legacy ones without /admin.
PROVIDER_APIS = {
    "login": provider_apis.LoginRequestApi,
    "login/accept": provider_apis.LoginAcceptApi,
    "login/reject": provider_apis.LoginRejectApi,
    "consent": provider_apis.ConsentRequestApi,
    "consent/accept": provider_apis.ConsentAcceptApi,
    "consent/reject": provider_apis.ConsentRejectApi,
    "logout": provider_apis.LogoutRequestApi,
    "logout/accept": provider_apis.LogoutAcceptApi,
    "logout/reject": provider_apis.LogoutRejectApi,
    "device/accept": provider_apis.DeviceAcceptApi,
}
for _path, _view in PROVIDER_APIS.items():
    _name = _path.replace("/", "-")
    urlpatterns += [
        path(f"admin/oauth2/auth/requests/{_path}", _view.as_view(), name=f"api-request-{_name}"),
        # The legacy path: the same view, left out of the OpenAPI document.
        path(f"oauth2/auth/requests/{_path}", _view.as_view(schema=None), name=f"api-request-{_name}-legacy"),
    ]
