from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "clients"
    verbose_name = "OAuth2 clients"
    default_auto_field = "django.db.models.BigAutoField"
