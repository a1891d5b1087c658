from django.urls import path

from tandem.billing import views

app_name = "billing"
urlpatterns = [
    path("", views.home, name="home"),
    path("setup/", views.setup_page, name="setup"),
    path("case/<int:case_id>/", views.case_page, name="case"),
    path("case/<int:case_id>/arrangement/", views.arrangement_page, name="arrangement"),
    path("case/<int:case_id>/override/", views.override_page, name="override"),
    path("case/<int:case_id>/scale/", views.scale_page, name="scale"),
    path("case/<int:case_id>/scale/end/", views.scale_end_page, name="scale_end"),
    path("case/<int:case_id>/invoice/", views.invoice_issue, name="invoice_issue"),
    path("case/<int:case_id>/payment/", views.case_payment_page, name="case_payment"),
    path("case/<int:case_id>/package/", views.package_page, name="package"),
    path("charges/<int:charge_id>/waive/", views.charge_waive_page, name="waive"),
    path("packages/<int:package_id>/cancel/", views.package_cancel_page, name="package_cancel"),
    path("invoices/<int:invoice_id>/", views.invoice_page, name="invoice"),
    path("invoices/<int:invoice_id>/invoice.pdf", views.invoice_pdf_view, name="invoice_pdf"),
    path("invoices/<int:invoice_id>/sent/", views.invoice_sent, name="invoice_sent"),
    path("invoices/<int:invoice_id>/credit/", views.credit_note_page, name="credit_note"),
    path("invoices/<int:invoice_id>/write-off/", views.write_off_page, name="write_off"),
    path(
        "credit-notes/<int:credit_note_id>/credit-note.pdf",
        views.credit_note_pdf_view,
        name="credit_note_pdf",
    ),
    path("payers/<int:payer_id>/", views.payer_page, name="payer"),
    path("payers/<int:payer_id>/payment/", views.payer_payment_page, name="payer_payment"),
    path("payers/<int:payer_id>/allocate/", views.credit_allocate, name="credit_allocate"),
    path("payers/<int:payer_id>/refund/", views.refund_page, name="refund"),
]
