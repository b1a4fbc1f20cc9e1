from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ciam.accounts"
    label = "accounts"
    verbose_name = "Identities"
    default_auto_field = "django.db.models.BigAutoField"
