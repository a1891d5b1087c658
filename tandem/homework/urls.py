from django.urls import path

from tandem.homework import views

app_name = "homework"
urlpatterns = [
    path("cases/<int:case_id>/", views.case_homework, name="case"),
    path("assignments/<int:assignment_id>/unlock/", views.unlock_next, name="unlock"),
]
