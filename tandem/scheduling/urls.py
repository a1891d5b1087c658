from django.urls import path

from tandem.scheduling import attendance_views, booking_views, calendar_views, views

app_name = "scheduling"
urlpatterns = [
    path("api/appointments/", views.appointment_create, name="api_appointments"),
    path("api/appointments/<int:appointment_id>/move/", views.appointment_move, name="api_move"),
    path("api/appointments/<int:appointment_id>/cancel/", views.appointment_cancel, name="api_cancel"),
    path("api/intensives/", views.intensive_create, name="api_intensives"),
    path("cases/<int:case_id>/availability/", booking_views.availability, name="availability"),
    path("calendar/", calendar_views.calendar_practice, name="calendar_practice"),
    path(
        "calendar/therapist/<int:therapist_id>/",
        calendar_views.calendar_therapist,
        name="calendar_therapist",
    ),
    path("calendar/room/<int:room_id>/", calendar_views.calendar_room, name="calendar_room"),
    path("calendar/new/", calendar_views.calendar_new, name="calendar_new"),
    path(
        "appointments/<int:appointment_id>/attendance/",
        attendance_views.attendance,
        name="attendance",
    ),
    path("feed/", calendar_views.feed_manage, name="feed"),
    path("feed/<str:token>.ics", calendar_views.feed_ics, name="feed_ics"),
]
