from django.urls import path

from tandem.pathway import views

app_name = "pathway"
urlpatterns = [
    path("<int:case_id>/move/<slug:to_phase>/", views.transition, name="transition"),
    path("<int:case_id>/intake/<int:client_id>/", views.intake_edit, name="intake"),
    path("<int:case_id>/intake/<int:client_id>/reviewed/", views.intake_reviewed, name="intake_reviewed"),
    path("<int:case_id>/consent/<int:client_id>/", views.consent_add, name="consent"),
    path("<int:case_id>/partners/<int:client_id>/leaves/", views.partner_leave, name="partner_leave"),
    path("<int:case_id>/findings/<int:client_id>/", views.findings_edit, name="findings"),
    path("<int:case_id>/sessions/<int:appointment_id>/for/", views.session_for, name="session_for"),
    path("<int:case_id>/referrals/new/", views.referral_new, name="referral_new"),
    path(
        "<int:case_id>/referrals/<int:referral_id>/appointment/",
        views.referral_appointment,
        name="referral_appointment",
    ),
    path("<int:case_id>/referrals/<int:referral_id>/result/", views.referral_result, name="referral_result"),
    path("<int:case_id>/referrals/<int:referral_id>/letter/", views.referral_letter, name="referral_letter"),
    path(
        "<int:case_id>/referrals/<int:referral_id>/letter.pdf",
        views.referral_letter_pdf,
        name="referral_letter_pdf",
    ),
    path("<int:case_id>/plan/", views.plan_edit, name="plan"),
    path("<int:case_id>/follow-ups/<int:task_id>/done/", views.follow_up_done, name="follow_up_done"),
    path(
        "<int:case_id>/follow-ups/<int:task_id>/reschedule/",
        views.follow_up_reschedule,
        name="follow_up_reschedule",
    ),
    path("<int:case_id>/discharge-summary/", views.discharge_summary, name="discharge_summary"),
]
