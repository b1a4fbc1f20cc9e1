from django.urls import path

from consent import views

app_name = "consent"

urlpatterns = [
    path("", views.home, name="home"),
    path("login", views.login_view, name="login"),
    path("logout", views.logout_view, name="logout"),
    path("consent", views.consent_view, name="consent"),
    path("error", views.error_view, name="error"),
]
