"""The identity app's paths: the person's sign-in pages and the identities API (a public
contract), and the console's user pages."""

from django.urls import path

from ciam.accounts import apis, factor_views, views

app_name = "accounts"

urlpatterns = [
    path("login", views.login_view, name="login"),
    path("login/factor", factor_views.login_factor_view, name="login-factor"),
    path("login/passkey", factor_views.login_passkey_view, name="login-passkey"),
    path("passkeys/options", factor_views.passkey_options_view, name="passkey-options"),
    path("registration", views.registration_view, name="registration"),
    path("verification", views.verification_view, name="verification"),
    path("recovery", views.recovery_view, name="recovery"),
    path("recovery/password", views.recovery_password_view, name="recovery-password"),
    path("account", views.account_view, name="account"),
    path("account/export", views.account_export_view, name="account-export"),
    path("account/sessions", views.account_sessions_view, name="account-sessions"),
    path("account/security", factor_views.account_security_view, name="account-security"),
    path("account/security/totp", factor_views.account_totp_view, name="account-totp"),
    path("console/users/", views.user_list, name="user-list"),
    path("console/users/new", views.user_new, name="user-new"),
    path("console/users/<uuid:user_id>", views.user_detail, name="user-detail"),
    path("console/users/<uuid:user_id>/lock", views.user_lock_view, name="user-lock"),
    path("console/users/<uuid:user_id>/active", views.user_active_view, name="user-active"),
    path("console/users/<uuid:user_id>/password", views.user_password_view, name="user-password"),
    path("console/users/<uuid:user_id>/delete", views.user_delete_view, name="user-delete"),
    path("console/users/<uuid:user_id>/email", views.user_email_view, name="user-email"),
    path("console/users/<uuid:user_id>/sessions", views.user_sessions_view, name="user-sessions"),
    path("console/users/<uuid:user_id>/factors", factor_views.user_factors_view, name="user-factors"),
    # Admin API.
    path("admin/identities", apis.IdentityListApi.as_view(), name="api-identities"),
    path("admin/identities/<uuid:identity_id>", apis.IdentityDetailApi.as_view(), name="api-identity"),
    path(
        "admin/identities/<uuid:identity_id>/credentials/<str:credential_type>",
        apis.IdentityCredentialsApi.as_view(),
        name="api-identity-credentials",
    ),
    path("admin/recovery/link", apis.RecoveryLinkApi.as_view(), name="api-recovery-link"),
]
