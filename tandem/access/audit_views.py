from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from tandem.access.audit_forms import AuditFilterForm
from tandem.access.audit_selectors import audit_events, audit_rows, can_read_audit
from tandem.access.services import deny
from tandem.audit.services import audit_record
from tandem.lib.jinja import fragment
from tandem.lib.paging import CappedPaginator

PAGE_SIZE = 50
# The trail grows by millions of rows; counting every match of a broad filter took longer than the page.
# Beyond this many the page says "more than" and a narrower filter finds the rest: twenty pages is more
# than anyone pages through, and it bounds both the count and the deepest OFFSET, so a case or a person
# with a long history costs what a new one does.
COUNT_CAP = 1_000


@require_safe
def events(request: HttpRequest) -> HttpResponse:
    """The audit trail, filtered and paged. The filters are identifiers and dates, so GET is fine."""
    if not can_read_audit(request.user):
        raise deny(request.user, what="audit", object_id="events")
    form = AuditFilterForm(request.GET)
    page = None
    if form.is_valid():
        # Looking at the trail is itself on the trail, with what was searched for.
        audit_record(actor=request.user, action="audit.view", detail=form.audit_detail())
        filters = form.filters()
        ids = audit_events(request.user, **filters).values_list("pk", flat=True)
        page = CappedPaginator(ids, PAGE_SIZE, cap=COUNT_CAP).get_page(request.GET.get("page"))
        page.object_list = audit_rows(list(page.object_list), sort=filters["sort"])
    else:
        audit_record(actor=request.user, action="audit.view", detail={"invalid_filters": sorted(form.errors)})
    # The rows are printed by Jinja2 (tandem/lib/jinja.py says why), the page around them by Django.
    rows = fragment("audit/_event_rows.jinja", {"events": page}) if page is not None else ""
    return render(
        request,
        "audit/events.html",
        {
            "nav": "audit",
            "form": form,
            "page_obj": page,
            "rows": rows,
            "sort": form.cleaned_data.get("sort") if form.is_valid() else None,
            "practice_tz": settings.TIME_ZONE,
        },
    )
