from django.urls import path

from tandem.accounts import staff_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.verify_view, name="verify"),
    path("welcome/<str:token>/", staff_views.staff_link_view, name="staff_link"),
    path("logout/", views.logout_view, name="logout"),
    path("security/", views.security_view, name="security"),
    path("security/password/", views.password_change_view, name="password_change"),
    path("security/authenticator/", views.authenticator_view, name="authenticator"),
    path("security/recovery-codes/new/", views.regenerate_codes_view, name="regenerate_codes"),
    path("security/recovery-codes/", views.recovery_codes_view, name="recovery_codes"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
