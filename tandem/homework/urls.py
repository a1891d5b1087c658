from django.urls import path

app_name = "homework"
urlpatterns: list[object] = []
