from django.urls import path

from tandem.cases import views

app_name = "cases"
# cases:detail, the case page, is served by tandem.today (it gathers every app) and added to this namespace
# in tandem/urls.py; so is cases:create, opening a case, served by tandem.pathway (it writes the first
# phase).
urlpatterns = [
    path("", views.case_list, name="list"),
    path("<int:case_id>/edit/", views.case_edit, name="edit"),
    path("<int:case_id>/problems/", views.problems_edit, name="problems"),
    path("<int:case_id>/partner/", views.partner_add, name="partner_add"),
    path("<int:case_id>/clients/<int:client_id>/", views.client_edit, name="client_edit"),
]
