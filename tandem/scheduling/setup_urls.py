from django.urls import path

from tandem.scheduling import setup_views

app_name = "setup"
urlpatterns = [
    path("", setup_views.practice_page, name="practice"),
    path("locations/", setup_views.locations_page, name="locations"),
    path("closures/", setup_views.closures_page, name="closures"),
    path("appointment-types/", setup_views.types_page, name="types"),
    path("staff/", setup_views.staff_page, name="staff"),
    path("hours/", setup_views.hours_page, name="hours"),
]
