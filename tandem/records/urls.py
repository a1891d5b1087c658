from django.urls import path

from tandem.records import views

app_name = "records"

urlpatterns: list = [
    path("cases/<int:case_id>/notes/", views.case_notes, name="case_notes"),
    path("cases/<int:case_id>/confidentiality/", views.confidentiality, name="confidentiality"),
    path("cases/<int:case_id>/process-notes/", views.process_notes, name="process_notes"),
    path("appointments/<int:appointment_id>/note/", views.note_new, name="note_new"),
    path("notes/<int:note_id>/", views.note_detail, name="note"),
    path("notes/<int:note_id>/edit/", views.note_edit, name="note_edit"),
    path("notes/<int:note_id>/sign/", views.note_sign, name="note_sign"),
    path("notes/<int:note_id>/cosign/", views.note_cosign, name="note_cosign"),
    path("notes/<int:note_id>/amend/", views.note_amend, name="note_amend"),
    path("process-notes/<int:note_id>/", views.process_note, name="process_note"),
]
