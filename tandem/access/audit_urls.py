"""The director's audit page (mounted at /audit/, URL namespace "audit"): it reads the trail through the
permission layer, so it lives here while the trail itself stays at the bottom of the layers."""

from django.urls import path

from tandem.access import audit_views as views

app_name = "audit"
urlpatterns = [
    path("", views.events, name="events"),
]
