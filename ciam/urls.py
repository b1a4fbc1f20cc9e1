from django.urls import include, path

urlpatterns = [
    path("", include("ciam.oauth.urls")),
    path("", include("consent.urls")),
]
