from django.urls import path

from tandem.billing import report_views

app_name = "billing_reports"

urlpatterns = [
    path("aged/", report_views.aged, name="aged"),
    path("aged.csv", report_views.aged_csv, name="aged_csv"),
    path("revenue/", report_views.revenue, name="revenue"),
    path("revenue.csv", report_views.revenue_csv, name="revenue_csv"),
]
