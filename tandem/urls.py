from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from health_check.views import HealthCheckView

from tandem.cases import views as case_views

admin.site.site_header = "Tandem set-up"

# For load balancers and monitoring: 200 when all pass, 500 naming what failed (no log-in; no personal data).
HEALTH_CHECKS = [
    "health_check.checks.Database",
    "health_check.checks.Cache",
    "tandem.lib.health.Migrations",
    ("tandem.lib.health.Worker", {"kind": "notify"}),
    ("tandem.lib.health.Worker", {"kind": "planning"}),
]

urlpatterns = [
    path("health/", login_not_required(HealthCheckView.as_view(checks=HEALTH_CHECKS)), name="health"),
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
    path("", include("tandem.public.urls")),
    path("setup/", admin.site.urls),
]
