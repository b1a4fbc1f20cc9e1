from django.urls import path

from ciam.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.user_list, name="user-list"),
    path("new", views.user_new, name="user-new"),
    path("<uuid:user_id>", views.user_detail, name="user-detail"),
    path("<uuid:user_id>/lock", views.user_lock_view, name="user-lock"),
    path("<uuid:user_id>/active", views.user_active_view, name="user-active"),
    path("<uuid:user_id>/password", views.user_password_view, name="user-password"),
    path("<uuid:user_id>/delete", views.user_delete_view, name="user-delete"),
]
