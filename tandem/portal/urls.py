from django.urls import path

from tandem.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("homework/<int:assignment_id>/", views.assignment, name="assignment"),
    path("appointments/<int:appointment_id>/calendar.ics", views.appointment_calendar, name="calendar"),
    path("messages/<int:case_id>/", views.client_messages, name="messages"),
    path("cases/<int:case_id>/messages/<int:client_id>/", views.staff_messages, name="staff_messages"),
    path("intake/<int:case_id>/", views.intake, name="intake"),
    path("reminders/", views.reminders, name="reminders"),
    path("invite/<int:case_id>/<int:client_id>/", views.invite, name="invite"),
    path("welcome/<str:token>/", views.accept, name="accept"),
]
