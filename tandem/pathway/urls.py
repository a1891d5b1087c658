from django.urls import path

app_name = "pathway"
urlpatterns: list[object] = []
