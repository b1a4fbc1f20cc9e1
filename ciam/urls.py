from django.urls import include, path

urlpatterns = [
    path("", include("ciam.oauth.urls")),
    path("", include("ciam.api.urls")),
    path("console/clients/", include("clients.urls")),
    path("console/users/", include("ciam.accounts.urls")),
    path("console/", include("ciam.console.urls")),
    path("", include("consent.urls")),
]
