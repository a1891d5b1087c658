"""Billing pages: thin views over `billing.services` (every write) and `billing.selectors` (every read, each
object through `tandem.access.billing`'s rules; what a user may not reach is an audited 404).

Staff: the front desk's overview (/billing/), a case's billing, a payer's statement, an invoice with its
credit notes, the fee schedule and policy set-up. Portal: a client's own invoices and statement only.
"""

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from tandem.access.billing import can_edit_fees, can_manage_billing, can_set_sliding_scale, payer_client_of
from tandem.access.services import AccessDenied, deny
from tandem.accounts.http import AuthedRequest
from tandem.billing import forms, selectors, services
from tandem.billing.models import BillingPolicy, Fee, Payer
from tandem.billing.packages import package_cancel, package_create
from tandem.billing.pdf import credit_note_pdf, invoice_pdf
from tandem.cases.models import Case
from tandem.lib.jinja import fragment
from tandem.lib.parse import parse_id
from tandem.lib.time import local_today

REFUSED = (services.BillingInvalid, AccessDenied)


def _posted(request: AuthedRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _manager(request: AuthedRequest, what: str) -> None:
    if not can_manage_billing(request.user):
        raise deny(request.user, what=what, object_id=request.path)


def _form_page(
    request: AuthedRequest, form: Any, *, title: str, submit: str, back: str, **extra: Any
) -> HttpResponse:
    context = {"nav": "billing", "form": form, "title": title, "submit": submit, "back": back, **extra}
    return render(request, "billing/form.html", context, status=400 if form.errors else 200)


def _pdf(body: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# --- the front desk's overview -----------------------------------------------------------------------
def home(request: AuthedRequest) -> HttpResponse:
    _manager(request, "billing")
    reference = request.GET.get("case", "").strip()[:20]
    if reference:
        # The front desk's "record a payment" by case reference (printed on every invoice).
        # Printable text only: PostgreSQL refuses a NUL in a query parameter.
        found = Case.objects.filter(reference__iexact=reference) if reference.isprintable() else None
        case = found.only("pk").first() if found is not None else None
        if case is not None:
            return redirect("billing:case_payment", case_id=case.pk)
        messages.error(request, "No case has that reference. It is printed on the invoice, e.g. T-0001.")
    context = {
        "nav": "billing",
        "invoices": selectors.open_invoices(),
        "uninvoiced": selectors.uninvoiced(),
        "today": local_today(),
    }
    return render(request, "billing/home.html", context)


# --- a case's billing ----------------------------------------------------------------------------------
def case_page(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = selectors.billing_case_for(request.user, case_id)
    context = {
        "nav": "cases",
        "case": case,
        "billing": selectors.case_billing(case),
        "can_manage": can_manage_billing(request.user),
        "can_scale": can_set_sliding_scale(request.user, case),
    }
    return render(request, "billing/case.html", context)


def _case_back(case: Case) -> str:
    return reverse("billing:case", kwargs={"case_id": case.pk})


def _managed_case(request: AuthedRequest, case_id: int, what: str) -> Case:
    case = selectors.billing_case_for(request.user, case_id)
    if not can_manage_billing(request.user):
        raise deny(request.user, what=what, object_id=case.pk, case_id=case.pk)
    return case


def _arrangement_initial(case: Case) -> dict[str, Any]:
    arrangement = selectors.case_billing(case).arrangement
    if arrangement is None:
        return {"payer_kind": "split" if case.is_couple else "client", "split_percent_a": Decimal("50.00")}
    return {
        "payer_kind": arrangement.payer_kind,
        "payer_client": str(arrangement.payer_client_id or ""),
        "split_percent_a": arrangement.split_percent_a,
        "insurer_name": arrangement.insurer_name,
        "identified_patient": str(arrangement.identified_patient_id or ""),
    }


@require_http_methods(["GET", "POST"])
def arrangement_page(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _managed_case(request, case_id, "billing.arrangement")
    form = forms.ArrangementForm(_posted(request), case=case, initial=_arrangement_initial(case))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        partners = {str(c.pk): c for c in case.partners}
        try:
            services.arrangement_set(
                actor=request.user,
                case=case,
                payer_kind=data["payer_kind"],
                payer_client=partners.get(data["payer_client"]),
                split_percent_a=data["split_percent_a"],
                insurer_name=data["insurer_name"],
                identified_patient=partners.get(data["identified_patient"]),
            )
        except REFUSED as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, "Who pays is saved; it applies to charges from now on.")
            return redirect(_case_back(case))
    return _form_page(request, form, title="Who pays", submit="Save", back=_case_back(case), case=case)


@require_http_methods(["GET", "POST"])
def override_page(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _managed_case(request, case_id, "billing.override")
    form = forms.OverrideForm(_posted(request), case=case)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        partners = {str(c.pk): c for c in case.partners}
        try:
            services.arrangement_override_set(
                actor=request.user,
                case=case,
                kind=data["kind"],
                rule=data["rule"],
                payer_client=partners.get(data["payer_client"]),
            )
        except REFUSED as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, "The rule for that kind of appointment is saved.")
            return redirect(_case_back(case))
    title = "Another payer for one kind of appointment"
    return _form_page(request, form, title=title, submit="Save", back=_case_back(case), case=case)


@require_http_methods(["GET", "POST"])
def scale_page(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = selectors.billing_case_for(request.user, case_id)
    if not can_set_sliding_scale(request.user, case):
        raise deny(request.user, what="billing.scale", object_id=case.pk, case_id=case.pk)
    form = forms.ScaleForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.sliding_scale_set(actor=request.user, case=case, **form.cleaned_data)
        except REFUSED as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, "The reduced fee applies to this case's charges from now on.")
            return redirect(_case_back(case))
    intro = (
        "A percentage of the scheduled fee (e.g. 70) or a fixed fee per session. It replaces the current one."
    )
    return _form_page(
        request,
        form,
        title="Sliding scale",
        submit="Set the fee",
        back=_case_back(case),
        case=case,
        intro=intro,
    )


@require_http_methods(["GET", "POST"])
def scale_end_page(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = selectors.billing_case_for(request.user, case_id)
    if not can_set_sliding_scale(request.user, case):
        raise deny(request.user, what="billing.scale", object_id=case.pk, case_id=case.pk)
    form = forms.ReasonForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.sliding_scale_end(actor=request.user, case=case, reason=form.cleaned_data["reason"])
        except REFUSED as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, "Back to the scheduled fees from now on.")
            return redirect(_case_back(case))
    return _form_page(
        request, form, title="End the sliding scale", submit="End it", back=_case_back(case), case=case
    )


@require_POST
def invoice_issue(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _managed_case(request, case_id, "billing.invoice_issue")
    payer_pk = parse_id(request.POST.get("payer", ""))
    payer = Payer.objects.filter(pk=payer_pk, charges__case=case).distinct().first() if payer_pk else None
    if payer is None:
        messages.error(request, "Choose a payer with charges in this case.")
        return redirect(_case_back(case))
    try:
        invoice = services.invoice_issue(actor=request.user, payer=payer, case=case)
    except REFUSED as refusal:
        messages.error(request, str(refusal))
        return redirect(_case_back(case))
    messages.success(request, f"Invoice {invoice.display_number} issued to {invoice.bill_to}.")
    return redirect("billing:invoice", invoice_id=invoice.pk)


def _payer_rows(payers: list[Payer]) -> list[tuple[Payer, str, Decimal]]:
    owed = selectors.owed_by(payers)
    return [(p, selectors.payer_name(p), owed.get(p.pk, Decimal("0.00"))) for p in payers]


def _payment(request: AuthedRequest, payers: list[Payer], back: str, **extra: Any) -> HttpResponse:
    form = forms.PaymentForm(
        _posted(request), payers=_payer_rows(payers), initial={"received_on": local_today()}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            done = services.payments_record(
                actor=request.user,
                amounts=form.amounts,
                method=data["method"],
                received_on=data["received_on"],
                reference=data["reference"],
            )
        except REFUSED as refusal:
            form.add_error(None, str(refusal))
        else:
            total = sum((p.amount for p in done), Decimal("0"))
            messages.success(request, f"{len(done)} payment(s) recorded, {total} in all.")
            return redirect(back)
    intro = (
        "Amounts are set against each payer's open invoices, oldest due first; anything over is kept "
        "as credit."
    )
    return _form_page(
        request, form, title="Record a payment", submit="Record", back=back, intro=intro, **extra
    )


@require_http_methods(["GET", "POST"])
def case_payment_page(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _managed_case(request, case_id, "billing.payment")
    payers = selectors.case_payers(case)
    if not payers:
        messages.error(request, "Nobody has been charged in this case yet.")
        return redirect(_case_back(case))
    return _payment(request, payers, _case_back(case), case=case)


@require_http_methods(["GET", "POST"])
def payer_payment_page(request: AuthedRequest, payer_id: int) -> HttpResponse:
    payer = selectors.payer_for_staff(request.user, payer_id)
    return _payment(request, [payer], reverse("billing:payer", kwargs={"payer_id": payer.pk}))


@require_http_methods(["GET", "POST"])
def charge_waive_page(request: AuthedRequest, charge_id: int) -> HttpResponse:
    charge = selectors.charge_for_manager(request.user, charge_id)
    form = forms.ReasonForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.charge_waive(actor=request.user, charge=charge, reason=form.cleaned_data["reason"])
        except REFUSED as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, "The fee is waived.")
            return redirect(_case_back(charge.case))
    title = f"Waive: {charge.description} ({charge.amount} {charge.currency})"
    return _form_page(
        request, form, title=title, submit="Waive the fee", back=_case_back(charge.case), case=charge.case
    )


@require_http_methods(["GET", "POST"])
def package_page(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _managed_case(request, case_id, "billing.package")
    blocks = selectors.case_billing(case).unsold_blocks
    choices = [(str(b.pk), selectors.block_label(b)) for b in blocks]
    form = forms.PackageForm(_posted(request), blocks=choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        series = next(b for b in blocks if str(b.pk) == data["series"])
        try:
            package_create(actor=request.user, series=series, price=data["price"], deposit=data["deposit"])
        except REFUSED as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(
                request, "The intensive is sold as a package: the deposit and balance are charged."
            )
            return redirect(_case_back(case))
    return _form_page(
        request, form, title="Sell an intensive as a package", submit="Sell", back=_case_back(case), case=case
    )


@require_http_methods(["GET", "POST"])
def package_cancel_page(request: AuthedRequest, package_id: int) -> HttpResponse:
    package = selectors.package_for_manager(request.user, package_id)
    form = forms.ReasonForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            done = package_cancel(actor=request.user, package=package, reason=form.cleaned_data["reason"])
        except REFUSED as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, f"Package cancelled: {done.refund_percent}% of the price goes back.")
            return redirect(_case_back(package.case))
    rules = forms.rules_text(package.refund_rules) or "none"
    intro = f"Refund rules of this package (days before {package.first_day:%d %b %Y}: % back): {rules}."
    return _form_page(
        request,
        form,
        title="Cancel the intensive package",
        submit="Cancel the package",
        back=_case_back(package.case),
        case=package.case,
        intro=intro,
    )


# --- invoices and credit notes ---------------------------------------------------------------------------
def invoice_page(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_for(request.user, invoice_id)
    context = {
        "nav": "billing",
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "credit_notes": list(invoice.credit_notes.all()),
        "can_manage": can_manage_billing(request.user),
        "payer_name": selectors.payer_name(invoice.payer),
    }
    return render(request, "billing/invoice.html", context)


def invoice_pdf_view(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_for(request.user, invoice_id)
    return _pdf(invoice_pdf(invoice), f"{invoice.display_number}.pdf")


def credit_note_pdf_view(request: AuthedRequest, credit_note_id: int) -> HttpResponse:
    note = selectors.credit_note_for(request.user, credit_note_id)
    return _pdf(credit_note_pdf(note), f"{note.display_number}.pdf")


def _managed_invoice(request: AuthedRequest, invoice_id: int) -> Any:
    invoice = selectors.invoice_for(request.user, invoice_id)
    if not can_manage_billing(request.user):
        raise deny(request.user, what="invoice.manage", object_id=invoice.pk, case_id=invoice.case_id)
    return invoice


@require_POST
def invoice_sent(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    invoice = _managed_invoice(request, invoice_id)
    services.invoice_mark_sent(actor=request.user, invoice=invoice)
    messages.success(request, f"{invoice.display_number} is marked as sent.")
    return redirect("billing:invoice", invoice_id=invoice.pk)


@require_http_methods(["GET", "POST"])
def credit_note_page(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    invoice = _managed_invoice(request, invoice_id)
    lines = selectors.creditable_lines(invoice)
    form = forms.CreditNoteForm(_posted(request), lines=[(str(pk), label) for pk, label in lines])
    back = reverse("billing:invoice", kwargs={"invoice_id": invoice.pk})
    if request.method == "POST" and form.is_valid():
        try:
            note = services.credit_note_issue(
                actor=request.user,
                invoice=invoice,
                reason=form.cleaned_data["reason"],
                amounts={int(pk): None for pk in form.cleaned_data["lines"]},
            )
        except REFUSED as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, f"Credit note {note.display_number} issued.")
            return redirect(back)
    title = f"Credit note for {invoice.display_number}"
    return _form_page(request, form, title=title, submit="Issue the credit note", back=back)


@require_http_methods(["GET", "POST"])
def write_off_page(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    invoice = _managed_invoice(request, invoice_id)
    form = forms.ReasonForm(_posted(request))
    back = reverse("billing:invoice", kwargs={"invoice_id": invoice.pk})
    if request.method == "POST" and form.is_valid():
        try:
            services.invoice_write_off(
                actor=request.user, invoice=invoice, reason=form.cleaned_data["reason"]
            )
        except REFUSED as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, f"{invoice.display_number} is written off.")
            return redirect(back)
    title = f"Write off what is left of {invoice.display_number} ({invoice.balance} {invoice.currency})"
    return _form_page(request, form, title=title, submit="Write off", back=back)


# --- a payer's statement ------------------------------------------------------------------------------
def payer_page(request: AuthedRequest, payer_id: int) -> HttpResponse:
    payer = selectors.payer_for_staff(request.user, payer_id)
    statement = selectors.statement(payer, request.GET)
    context = {
        "nav": "billing",
        "statement": statement,
        "lists": _statement_lists(request, statement, portal=False),
    }
    return render(request, "billing/statement.html", context)


def _statement_lists(request: AuthedRequest, statement: selectors.Statement, *, portal: bool) -> str:
    return fragment(
        "billing/_statement.jinja", {"statement": statement, "portal": portal, "query": request.GET}
    )


@require_POST
def credit_allocate(request: AuthedRequest, payer_id: int) -> HttpResponse:
    payer = selectors.payer_for_staff(request.user, payer_id)
    try:
        used = services.credit_allocate(actor=request.user, payer=payer)
    except REFUSED as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"{used} of the credit is set against open invoices.")
    return redirect("billing:payer", payer_id=payer.pk)


@require_http_methods(["GET", "POST"])
def refund_page(request: AuthedRequest, payer_id: int) -> HttpResponse:
    payer = selectors.payer_for_staff(request.user, payer_id)
    form = forms.RefundForm(_posted(request))
    back = reverse("billing:payer", kwargs={"payer_id": payer.pk})
    if request.method == "POST" and form.is_valid():
        try:
            services.refund_record(actor=request.user, payer=payer, **form.cleaned_data)
        except REFUSED as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, "The refund is recorded.")
            return redirect(back)
    title = f"Refund credit to {selectors.payer_name(payer)}"
    intro = f"Credit now: {selectors.payer_credit(payer)}."
    return _form_page(request, form, title=title, submit="Record the refund", back=back, intro=intro)


# --- set-up: fees and policy ---------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def setup_page(request: AuthedRequest) -> HttpResponse:
    if not can_edit_fees(request.user):
        raise deny(request.user, what="billing.setup", object_id="setup")
    action = request.POST.get("action") if request.method == "POST" else None
    policy = BillingPolicy.current()
    fee_form = forms.FeeForm(request.POST if action == "fee" else None)
    policy_form = forms.PolicyForm(
        request.POST if action == "policy" else None, initial=forms.PolicyForm.initial_from(policy)
    )
    try:
        if action == "fee" and fee_form.is_valid():
            services.fee_set(actor=request.user, **fee_form.cleaned_data)
            messages.success(request, "The fee is saved; it applies to charges from now on.")
            return redirect("billing:setup")
        if action == "policy" and policy_form.is_valid():
            services.billing_policy_save(actor=request.user, values=policy_form.cleaned_data)
            messages.success(request, "The billing policy is saved.")
            return redirect("billing:setup")
    except REFUSED as refusal:
        (fee_form if action == "fee" else policy_form).add_error(None, str(refusal))
    context = {
        "nav": "setup",
        "section": "billing",
        "fees": list(Fee.objects.all()),
        "fee_form": fee_form,
        "policy_form": policy_form,
        "policy_saved": policy.pk is not None,
    }
    status = 400 if fee_form.errors or policy_form.errors else 200
    return render(request, "billing/setup.html", context, status=status)


# --- portal: a client's own invoices only --------------------------------------------------------------
def my_invoices(request: AuthedRequest) -> HttpResponse:
    if payer_client_of(request.user) is None:
        raise deny(request.user, what="portal.invoices", object_id=request.path)
    statement = selectors.my_statement(request.user, request.GET)
    lists = _statement_lists(request, statement, portal=True) if statement is not None else ""
    return render(request, "billing/mine.html", {"statement": statement, "lists": lists})


def my_invoice_pdf(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    if payer_client_of(request.user) is None:
        raise deny(request.user, what="portal.invoice", object_id=invoice_id)
    invoice = selectors.invoice_for(request.user, invoice_id)
    return _pdf(invoice_pdf(invoice), f"{invoice.display_number}.pdf")


def my_credit_note_pdf(request: AuthedRequest, credit_note_id: int) -> HttpResponse:
    if payer_client_of(request.user) is None:
        raise deny(request.user, what="portal.credit_note", object_id=credit_note_id)
    note = selectors.credit_note_for(request.user, credit_note_id)
    return _pdf(credit_note_pdf(note), f"{note.display_number}.pdf")
