from django.urls import path

from tandem.video import views

app_name = "video"
urlpatterns = [
    path("check/", views.check, name="check"),
    path("<int:appointment_id>/", views.session, name="session"),
    path("<int:appointment_id>/seat/", views.seat_take, name="seat_take"),
    path("<int:appointment_id>/waiting/", views.waiting, name="waiting"),
    path("<int:appointment_id>/admit/", views.admit, name="admit"),
    path("seat/<str:ref>/", views.seat_status, name="seat_status"),
    path("seat/<str:ref>/joined/", views.seat_joined, name="seat_joined"),
    path("seat/<str:ref>/left/", views.seat_left, name="seat_left"),
]
