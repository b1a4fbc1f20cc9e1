from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Login and consent"
    default_auto_field = "django.db.models.BigAutoField"
