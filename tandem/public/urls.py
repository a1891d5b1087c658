from django.urls import path

from tandem.public import views

app_name = "public"

# Mounted at the site root after the staff pages; "/" itself is the Today view, which shows
# anonymous visitors the public home page (tandem.today.views.today).
urlpatterns = [
    path("home/", views.home, name="home"),
    path("therapy/", views.page, {"slug": "therapy"}, name="therapy"),
    path("formats/", views.page, {"slug": "formats"}, name="formats"),
    path("assessment/", views.page, {"slug": "assessment"}, name="assessment"),
    path("concerns/", views.page, {"slug": "concerns"}, name="concerns"),
    path("fees/", views.page, {"slug": "fees"}, name="fees"),
    path("privacy/", views.page, {"slug": "privacy"}, name="privacy"),
    path("faq/", views.page, {"slug": "faq"}, name="faq"),
    path("therapists/", views.therapists, name="therapists"),
    path("contact/", views.contact, name="contact"),
    path("contact/sent/", views.contact_sent, name="contact_sent"),
    path("consultation/", views.consultation, name="consultation"),
    path("consultation/booked/<str:token>/", views.consultation_booked, name="consultation_booked"),
    path("consultation/manage/<str:token>/", views.consultation_manage, name="consultation_manage"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/requests/<int:pk>/", views.inbox_request, name="inbox_request"),
    path("inbox/messages/<int:pk>/", views.inbox_message, name="inbox_message"),
]

# The pages a visitor reaches from the menu, in the URL names above (for tests and the sitemap of links).
PUBLIC_PAGES = [
    "home",
    "therapy",
    "formats",
    "assessment",
    "concerns",
    "fees",
    "privacy",
    "faq",
    "therapists",
    "contact",
    "consultation",
]
