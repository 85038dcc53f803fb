"""Exit codes a scheduler can act on, the same in every job (the README's table lists them).

1 is left to Python itself (an uncaught exception: a bug or a lost machine) and 2 to argparse
(a usage or configuration error), so each failure class a job detects has its own code.
`jobs/refresh.py` stops at the first failing step and exits with that step's code; a warning
(ACCURACY_DRIFT) does not stop it, and it ends with that code when no step failed.
"""
from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CRASHED = 1           # Python's own: an unexpected error (never returned on purpose)
    USAGE = 2             # argparse's own: bad arguments or configuration
    NOTHING_SCORED = 3    # a scoring run found nothing to score
    STALE_FEATURES = 4    # the newest statistics are older than scoring.max_feature_age_days
    NO_MODEL = 5          # no registered model of that version (or no `latest`)
    WRITE_CONFLICT = 6    # every commit retry lost against concurrent writers: nothing committed, rerun
    ROW_ACCOUNTING = 7    # rows in != rows out + rows rejected: nothing committed (a bug, not bad data)
    TRAINING_FAILED = 8   # the run could not be planned or gave no usable model: nothing registered
    ACCURACY_DRIFT = 9    # a warning: committed, but the realised accuracy of closed listings' suggestions fell
                          # beyond scoring.max_male_increase of the model's validation figure (suggestion_outcomes)


# Codes that report a problem in work that was committed: a scheduler alerts, the pipeline goes on.
WARNINGS = frozenset({ExitCode.ACCURACY_DRIFT})
