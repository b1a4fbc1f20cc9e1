from django.apps import AppConfig


class OAuthConfig(AppConfig):
    name = "ciam.oauth"
    label = "oauth"
    verbose_name = "OAuth2 / OpenID Connect"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Signal receivers connect when their modules are imported (Django's documented place).
        from ciam.lib import redaction
        from ciam.oauth import cors, receivers  # noqa: F401

        redaction.install()
