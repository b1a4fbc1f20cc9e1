from django.apps import AppConfig


class OAuthConfig(AppConfig):
    name = "ciam.oauth"
    label = "oauth"
    verbose_name = "OAuth2 / OpenID Connect"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ciam import redaction
        from ciam.oauth import cors  # noqa: F401 - connects the CORS signal handler
        from ciam.oauth.hashers import check_argon2_runs_here

        redaction.install()
        check_argon2_runs_here()
