from django.urls import path

from tandem.measures import views

app_name = "measures"
urlpatterns = [
    path("my/", views.my_due, name="my_due"),
    path("my/<int:request_id>/", views.my_fill, name="my_fill"),
    path("my/reports/<int:case_id>/", views.my_couple_report, name="my_report"),
    path("cases/<int:case_id>/", views.case_results, name="case"),
    path("cases/<int:case_id>/responses/<int:response_id>/", views.response_detail, name="response"),
    path("cases/<int:case_id>/enter/", views.staff_enter, name="enter"),
    path(
        "cases/<int:case_id>/alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="acknowledge"
    ),
    path("cases/<int:case_id>/share/", views.couple_report_share, name="share"),
]
