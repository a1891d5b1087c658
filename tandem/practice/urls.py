from django.urls import path

from tandem.practice import setup_views

app_name = "practice"
urlpatterns = [
    path("setup/", setup_views.practice_page, name="setup"),
    path("setup/locations/", setup_views.locations_page, name="setup_locations"),
    path("setup/closures/", setup_views.closures_page, name="setup_closures"),
    path("setup/appointment-types/", setup_views.types_page, name="setup_types"),
    path("setup/staff/", setup_views.staff_page, name="setup_staff"),
    path("setup/hours/", setup_views.hours_page, name="setup_hours"),
]
