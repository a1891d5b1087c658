from django.urls import path

from tandem.outcomes import views

app_name = "outcomes"
urlpatterns = [
    path("", views.practice, name="practice"),
    path("outcomes.csv", views.practice_csv, name="practice_csv"),
    path("research.csv", views.research_csv, name="research_csv"),
]
