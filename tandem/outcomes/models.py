"""The precomputed outcomes registry: what the director's page counts, one row per case and measure.

Written only by `services.outcome_rows_refresh` (after each change to a case's scores, plan, phases,
partners or problems, and by `manage.py outcomes_rebuild`), read only by `summary.py`.

A row holds the case's grouping keys and flow facts (repeated on the row of each measure, so that one
table answers each question) and, per partner, the inputs of the outcome rules rather than the category:
the CSI's reliable change uses the practice's own baseline SD (`OutcomeNorm`), which moves with every
finished case, so the category is decided in the page's GROUP BY query from the stored change. Both
partners sit on one row so that the couple's category comes from the same pass.
"""

import uuid

from django.db import models


class OutcomeRow(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    instrument = models.CharField(max_length=20)
    is_couple = models.BooleanField()
    # The latest treatment plan's format, or selectors.NO_PLAN.
    format = models.CharField(max_length=20)
    team = models.ForeignKey("accounts.CoTherapyTeam", null=True, on_delete=models.SET_NULL, related_name="+")
    therapist = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    # The year treatment ended, or a drop-out's year of closing, or "unknown" (CaseFacts.period).
    period = models.CharField(max_length=10)
    finished = models.BooleanField()
    dropout = models.BooleanField()
    days_to_treatment = models.IntegerField(null=True)
    # Per partner (a, b): baseline and end-of-treatment totals, the change end - baseline as the float
    # the reliable change index divides, whether the scores crossed the cut-off to the healthy side, and
    # the change from baseline to the 3- and 6-month follow-up scores (null: no score in the window).
    a_baseline = models.DecimalField(max_digits=6, decimal_places=1, null=True)
    a_end = models.DecimalField(max_digits=6, decimal_places=1, null=True)
    a_change = models.FloatField(null=True)
    a_crossed = models.BooleanField(default=False)
    a_follow_up_3 = models.FloatField(null=True)
    a_follow_up_6 = models.FloatField(null=True)
    b_baseline = models.DecimalField(max_digits=6, decimal_places=1, null=True)
    b_end = models.DecimalField(max_digits=6, decimal_places=1, null=True)
    b_change = models.FloatField(null=True)
    b_crossed = models.BooleanField(default=False)
    b_follow_up_3 = models.FloatField(null=True)
    b_follow_up_6 = models.FloatField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "instrument"], name="outcome_row_case_measure")
        ]
        indexes = [models.Index(fields=["instrument", "format"], name="outcome_row_measure_idx")]

    def __str__(self) -> str:
        return f"Outcome row of case {self.case_id} on {self.instrument}"


class OutcomeProblem(models.Model):
    """A case's coded presenting problems, once each (a problem may be recorded for each partner), on
    each of its rows: grouping by problem then joins on the row itself."""

    row = models.ForeignKey(OutcomeRow, on_delete=models.CASCADE, related_name="problems")
    problem = models.ForeignKey("cases.PresentingProblem", on_delete=models.CASCADE, related_name="+")
    # The row's measure again, so that grouping one measure's rows by problem reads only its problems.
    instrument = models.CharField(max_length=20)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["row", "problem"], name="outcome_problem_once")]
        indexes = [models.Index(fields=["instrument", "row"], name="outcome_problem_measure_idx")]

    def __str__(self) -> str:
        return f"Problem {self.problem_id} of outcome row {self.row_id}"


class OutcomeNorm(models.Model):
    """The practice's baseline SD on an instrument that publishes no norm SD (rules.baseline_sd over the
    baselines of every finished case), kept with the rows that it is computed from."""

    instrument = models.CharField(max_length=20, primary_key=True)
    sd = models.FloatField(null=True)
    baselines = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"Practice SD on {self.instrument}"


class OutcomeStamp(models.Model):
    """One row whose value the registry's writer replaces with a new random one in every transaction
    that changes rows or norms. The director's counts are remembered in the shared cache under the stamp
    they were counted at (summary.py), so a committed change is seen on the next view. The value is random
    rather than a counter so that a rolled-back change can never bring an earlier stamp back."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.UUIDField(default=uuid.uuid4)

    def __str__(self) -> str:
        return f"Outcomes registry stamp {self.value}"
