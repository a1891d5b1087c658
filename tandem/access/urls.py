from django.urls import path

from tandem.access import views

app_name = "access"
urlpatterns = [path("emergency/", views.break_glass, name="break_glass")]
