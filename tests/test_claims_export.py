"""`export_claims`: the demo's insurer-billed sessions as an 837P that pyx12 validates with zero errors;
each claim once unless resent; bad input refused with a clear message, nothing written."""

import io
from io import StringIO
from pathlib import Path

import pytest
import pyx12.error_handler
import pyx12.params
import pyx12.x12n_document
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tandem.billing.models import Charge
from tandem.claims.models import ClaimExport, ExportedClaim
from tandem.demo import build as demo
from tandem.demo.claims import demo_npi

pytestmark = pytest.mark.django_db

CLAIMS_SETTINGS = {
    "PRACTICE_NAME": "Larkspur Relationship Clinic (demo)",
    "PRACTICE_TAX_ID": "12-3456789",
    "CLAIMS_PRACTICE_NPI": demo_npi(1),
    "CLAIMS_PRACTICE_STREET": "1 Example Plaza",
    "CLAIMS_PRACTICE_CITY": "Portland",
    "CLAIMS_PRACTICE_STATE": "OR",
    "CLAIMS_PRACTICE_ZIP": "97201-0001",
    "CLAIMS_CONTACT_PHONE": "555-0100",
    "CLAIMS_SUBMITTER_ID": "LARKSPUR01",
    "CLAIMS_RECEIVER_ID": "DEMOHUB",
    "CLAIMS_RECEIVER_NAME": "Demo Clearinghouse",
}


@pytest.fixture
def claims_settings(settings):
    for name, value in CLAIMS_SETTINGS.items():
        setattr(settings, name, value)
    return settings


@pytest.fixture
def seeded(db):
    # Inside the test's transaction: a seed committed for the module and flushed afterwards would also
    # wipe the rows the migrations install (exercises, consent texts), which later tests on the same
    # worker rely on.
    demo.seed()


def export(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("export_claims", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def validation_errors(path: Path) -> int:
    """pyx12's own verdict: False or any error counted means the file is refused."""
    param = pyx12.params.params()
    out_999 = io.StringIO()
    ok = pyx12.x12n_document.x12n_document(param=param, src_file=str(path), fd_997=out_999, fd_html=None)
    rejected = "IK5*R" in out_999.getvalue() or "IK5*E" in out_999.getvalue()
    return 0 if ok and not rejected else 1


def period() -> tuple[str, str]:
    today = timezone.localdate()
    return (today - timezone.timedelta(days=120)).isoformat(), today.isoformat()


def test_demo_export_validates_and_claims_each_session_once(seeded, claims_settings, tmp_path):
    insurer_sessions = Charge.objects.filter(payer__kind="insurer", kind="session").exclude(
        status__in=["reversed", "waived"]
    )
    assert insurer_sessions.count() >= 3
    start, end = period()
    target = tmp_path / "batch.837"
    out, _ = export("--from", start, "--to", end, "--out", str(target))
    assert "Wrote" in out
    text = target.read_text()
    assert text.startswith("ISA*") and "005010X222A1" in text
    assert validation_errors(target) == 0
    assert "HC:90785" in text  # the demo marks one session with interactive complexity
    assert "HI*ABK:" in text and "NM1*82*1*" in text
    first = ClaimExport.objects.get()
    assert first.claims == text.count("CLM*") == ExportedClaim.objects.count()
    # Each claim once: the same period again has nothing new, and writes no file.
    again = tmp_path / "again.837"
    out, _ = export("--from", start, "--to", end, "--out", str(again))
    assert "No claims" in out and not again.exists()
    # --resend includes them again, in a new batch with the next control number.
    out, _ = export("--from", start, "--to", end, "--out", str(again), "--resend")
    assert again.read_text().count("CLM*") == first.claims
    assert validation_errors(again) == 0
    assert ClaimExport.objects.order_by("control_number").last().control_number == first.control_number + 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-01", "--to", "2026-12-31"], "Not a date"),
        (["--from", "yesterday", "--to", "2026-12-31"], "Not a date"),
        (["--from", "2026-12-31", "--to", "2026-01-01"], "starts after it ends"),
        (["--from", "2020-01-01", "--to", "2026-01-01"], "at most a year"),
    ],
)
def test_bad_dates_are_refused(db, claims_settings, tmp_path, args, message):
    target = tmp_path / "x.837"
    with pytest.raises(CommandError, match=message):
        export(*args, "--out", str(target))
    assert not target.exists() and not ClaimExport.objects.exists()


def test_unwritable_path_is_refused_and_nothing_recorded(seeded, claims_settings, tmp_path):
    start, end = period()
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    # A missing folder, a file where the folder should be, a folder as the target, and a folder the
    # process may not create files in (the tests may run as root, for whom permissions do not stop it).
    targets = (tmp_path / "missing" / "x.837", a_file / "x.837", tmp_path, Path("/proc/claims.837"))
    for target in targets:
        with pytest.raises(CommandError, match="Cannot write"):
            export("--from", start, "--to", end, "--out", str(target))
    assert not ClaimExport.objects.exists() and not ExportedClaim.objects.exists()
    assert list(tmp_path.iterdir()) == [a_file]


def test_missing_practice_settings_are_named(seeded, settings, tmp_path):
    settings.CLAIMS_PRACTICE_NPI = ""
    start, end = period()
    with pytest.raises(CommandError, match="CLAIMS_PRACTICE_NPI"):
        export("--from", start, "--to", end, "--out", str(tmp_path / "x.837"))
    assert not ClaimExport.objects.exists() and list(tmp_path.iterdir()) == []
