"""Every path the service answers, by the app that owns it (each app's urls.py names its own)."""

from django.urls import include, path

from ciam import health

urlpatterns = [
    path("health/alive", health.alive, name="health-alive"),
    path("health/ready", health.ready, name="health-ready"),
    path("", include("ciam.oauth.urls")),
    path("", include("ciam.api.urls")),
    path("", include("clients.urls")),
    path("", include("ciam.accounts.urls")),
    path("console/", include("ciam.console.urls")),
    path("", include("consent.urls")),
]
