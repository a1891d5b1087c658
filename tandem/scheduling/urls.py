from django.urls import path

from tandem.scheduling import views

app_name = "scheduling"
urlpatterns = [
    path("api/appointments/", views.appointment_create, name="api_appointments"),
    path("api/appointments/<int:appointment_id>/move/", views.appointment_move, name="api_move"),
    path("api/appointments/<int:appointment_id>/cancel/", views.appointment_cancel, name="api_cancel"),
    path("api/intensives/", views.intensive_create, name="api_intensives"),
]
