from django.urls import path

from tandem.claims import views

app_name = "claims"

urlpatterns = [
    path("cases/<int:case_id>/", views.case_insurance, name="case_insurance"),
    path("cases/<int:case_id>/coverage/", views.coverage_save, name="coverage_save"),
    path("cases/<int:case_id>/diagnoses/", views.diagnoses_save, name="diagnoses_save"),
    path("cases/<int:case_id>/sessions/<int:appointment_id>/flags/", views.flags_save, name="flags_save"),
    path("cases/<int:case_id>/provider-numbers/", views.provider_number_save, name="provider_number_save"),
    path("cases/<int:case_id>/superbill.pdf", views.superbill, name="superbill"),
]
