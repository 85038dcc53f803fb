"""The scoring stage's decisions, on their own (the whole stage runs in test_score_job.py)."""
from datetime import date

import pytest

from pricesuggest.exit_codes import ExitCode
from scoring.stage import ScoringResult, run_status, stale_features


@pytest.mark.parametrize("snapshot, limit, stale", [
    (date(2026, 7, 10), 3, False),   # two days old
    (date(2026, 7, 9), 3, False),    # exactly at the limit
    (date(2026, 7, 8), 3, True),     # one day over
    (None, 3, True),                 # no snapshot at all
])
def test_statistics_older_than_the_limit_are_stale(snapshot, limit, stale):
    why = stale_features(snapshot, date(2026, 7, 12), limit)
    assert (why is not None) == stale
    if snapshot is not None and stale:
        assert "4 days before 2026-07-12" in why


@pytest.mark.parametrize("rows_in, scored, rejected, dry_run, status", [
    (10, 8, 2, False, "succeeded"),
    (10, 8, 2, True, "dry run"),
    (10, 8, 1, False, "failed: row accounting"),  # a row went missing: never commit
    (3, 0, 3, False, "failed: nothing scored"),
    (3, 0, 3, True, "failed: nothing scored"),
    (11, 8, 2, True, "failed: row accounting"),
])
def test_a_run_commits_only_when_every_row_is_accounted_for_and_something_scored(rows_in, scored, rejected,
                                                                                 dry_run, status):
    assert run_status(rows_in, scored, rejected, dry_run) == status


@pytest.mark.parametrize("status, drifts, code", [
    ("succeeded", [], ExitCode.OK),
    ("dry run", [], ExitCode.OK),
    ("succeeded", ["drift"], ExitCode.ACCURACY_DRIFT),  # committed: a warning
    ("failed: row accounting", ["drift"], ExitCode.ROW_ACCOUNTING),  # a failure outranks a warning
    ("failed: nothing scored", [], ExitCode.NOTHING_SCORED),
])
def test_a_runs_exit_code_says_failure_before_warning(status, drifts, code):
    assert ScoringResult({"status": status}, rows=None, drifts=drifts).exit_code() == code
