from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "ciam.console"
    label = "console"
    verbose_name = "Admin console"
    default_auto_field = "django.db.models.BigAutoField"
