"""Recording whether a session took place, from the calendar or the case page."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from tandem.access.calendar import can_record_attendance
from tandem.access.services import AccessDenied, deny
from tandem.accounts.http import AuthedRequest
from tandem.lib.time import practice_zone
from tandem.scheduling import services
from tandem.scheduling.models import Appointment, AppointmentStatus


def _back(request: AuthedRequest, appointment: Appointment) -> str:
    """A page of this site to return to; otherwise the practice calendar on the session's day."""
    target = request.POST.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    day = timezone.localdate(appointment.starts_at, practice_zone())
    return reverse("scheduling:calendar_practice") + f"?date={day.isoformat()}&span=day"


@require_POST
def attendance(request: AuthedRequest, appointment_id: int) -> HttpResponse:
    user = request.user
    appointment = Appointment.objects.select_related("case__team").filter(pk=appointment_id).first()
    if appointment is None or not can_record_attendance(
        user, appointment.case, set(appointment.therapists.values_list("pk", flat=True))
    ):
        raise deny(
            user,
            what="appointment.attendance",
            object_id=appointment_id,
            case_id=appointment.case_id if appointment is not None else None,
        )
    status = request.POST.get("status", "")
    try:
        services.appointment_record_attendance(
            actor=user, appointment=appointment, status=status, note=request.POST.get("note", "")
        )
    except AccessDenied:
        raise deny(user, what="appointment.attendance", object_id=appointment_id) from None
    except services.BookingError as refusal:
        messages.error(request, str(refusal))
    else:
        when = appointment.starts_at.astimezone(practice_zone())
        label = AppointmentStatus(status).label.lower()
        messages.success(
            request, f"{appointment.case.reference}, {when:%a} {when.day} {when:%b %H:%M}: {label}."
        )
    return redirect(_back(request, appointment))
