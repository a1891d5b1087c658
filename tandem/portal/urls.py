from django.urls import path

from tandem.billing import views as billing_views
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
    path("invoices/", billing_views.my_invoices, name="invoices"),
    path("invoices/<int:invoice_id>/invoice.pdf", billing_views.my_invoice_pdf, name="invoice_pdf"),
    path(
        "credit-notes/<int:credit_note_id>/credit-note.pdf",
        billing_views.my_credit_note_pdf,
        name="credit_note_pdf",
    ),
]
