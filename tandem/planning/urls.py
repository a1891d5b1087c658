from django.urls import path

from tandem.planning import views

app_name = "planning"
urlpatterns = [
    path("", views.runs, name="runs"),
    path("runs/<int:run_id>/", views.run_detail, name="run"),
    path("runs/<int:run_id>/accept/", views.run_accept, name="accept"),
]
