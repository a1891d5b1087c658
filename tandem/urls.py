from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from health_check.views import HealthCheckView

from tandem.cases import urls as case_urls
from tandem.pathway import views as pathway_views
from tandem.today import views as today_views

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
    path("", today_views.today, name="today"),
    path("accounts/", include("tandem.accounts.urls")),
    # The case page sits in the top layer with Today, and opening a case in pathway (it writes the first
    # phase), both under the cases namespace with the other case pages.
    path(
        "cases/",
        include(
            (
                [
                    path("<int:case_id>/", today_views.case_detail, name="detail"),
                    path("new/", pathway_views.case_create, name="create"),
                    *case_urls.urlpatterns,
                ],
                case_urls.app_name,
            )
        ),
    ),
    path("access/", include("tandem.access.urls")),
    path("audit/", include("tandem.access.audit_urls")),
    path("scheduling/", include("tandem.scheduling.urls")),
    path("pathway/", include("tandem.pathway.urls")),
    path("homework/", include("tandem.homework.urls")),
    path("measures/", include("tandem.measures.urls")),
    path("portal/", include("tandem.portal.urls")),
    path("records/", include("tandem.records.urls")),
    path("planning/", include("tandem.planning.urls")),
    path("consents/", include("tandem.consents.urls")),
    path("outcomes/", include("tandem.outcomes.urls")),
    path("video/", include("tandem.video.urls")),
    path("billing/reports/", include("tandem.billing.report_urls")),
    path("billing/", include("tandem.billing.urls")),
    path("insurance/", include("tandem.claims.urls")),
    path("practice/setup/", include("tandem.scheduling.setup_urls")),
    path("", include("tandem.public.urls")),
    path("setup/", admin.site.urls),
]
