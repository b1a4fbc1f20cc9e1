from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "ciam.api"
    label = "api"
    verbose_name = "Admin REST API"
    default_auto_field = "django.db.models.BigAutoField"
