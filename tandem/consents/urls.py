from django.urls import path

from tandem.consents import views

app_name = "consents"

urlpatterns = [
    path("case/<int:case_id>/", views.case_consents, name="case"),
    path("case/<int:case_id>/request/", views.consent_request_page, name="request"),
    path("case/<int:case_id>/release/", views.release_request_page, name="release_new"),
    path("<int:consent_id>/sign/", views.sign_on_staff_device, name="staff_sign"),
    path("<int:consent_id>/revoke/", views.revoke_page, name="revoke"),
    path("case/<int:case_id>/export/", views.export_page, name="export"),
    path("case/<int:case_id>/export/bundle.json", views.export_json, name="export_json"),
    path("case/<int:case_id>/export/record.pdf", views.export_pdf, name="export_pdf"),
    path("case/<int:case_id>/client/<int:client_id>/data.json", views.client_data, name="client_data"),
    path("retention/", views.retention_page, name="retention"),
    path("mine/", views.my_consents, name="mine"),
    path("mine/<int:consent_id>/", views.my_consent, name="my_consent"),
    path("mine/<int:consent_id>/revoke/", views.my_revoke, name="my_revoke"),
]
