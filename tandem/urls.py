from django.contrib import admin
from django.urls import include, path

from tandem.cases import views as case_views

admin.site.site_header = "Tandem set-up"

urlpatterns = [
    path("", case_views.today, name="today"),
    path("accounts/", include("tandem.accounts.urls")),
    path("cases/", include("tandem.cases.urls")),
    path("access/", include("tandem.access.urls")),
    path("audit/", include("tandem.audit.urls")),
    path("scheduling/", include("tandem.scheduling.urls")),
    path("pathway/", include("tandem.pathway.urls")),
    path("homework/", include("tandem.homework.urls")),
    path("measures/", include("tandem.measures.urls")),
    path("portal/", include("tandem.portal.urls")),
    path("records/", include("tandem.records.urls")),
    path("planning/", include("tandem.planning.urls")),
    path("consents/", include("tandem.consents.urls")),
    path("outcomes/", include("tandem.outcomes.urls")),
    path("", include("tandem.public.urls")),
    path("setup/", admin.site.urls),
]
