"""The service's choice of comps index snapshot: the newest complete one, whatever else is on disk."""
import os
from datetime import date

from scoring.comps import Snapshot
from serving.comps_index import newest_snapshot


def write(root, snapshot: Snapshot, complete: bool) -> None:
    folder = snapshot.path(str(root))
    os.makedirs(folder)
    open(f"{folder}/part-0.parquet", "wb").close()
    if complete:
        open(f"{folder}/_SUCCESS", "wb").close()


def test_the_newest_complete_run_of_the_newest_day_with_one_is_chosen(tmp_path):
    assert newest_snapshot(str(tmp_path / "none yet")) is None
    day, later = date(2026, 3, 1), date(2026, 3, 2)
    write(tmp_path, Snapshot(day, "score_listings-20260302T010000Z-aaaa"), complete=True)
    write(tmp_path, Snapshot(day, "score_listings-20260302T020000Z-bbbb"), complete=True)
    # a concurrent run of the same day still writing, and the next day's run that died mid-write
    write(tmp_path, Snapshot(day, "score_listings-20260302T030000Z-cccc"), complete=False)
    write(tmp_path, Snapshot(later, "score_listings-20260303T010000Z-dddd"), complete=False)
    assert newest_snapshot(str(tmp_path)) == Snapshot(day, "score_listings-20260302T020000Z-bbbb")
    write(tmp_path, Snapshot(later, "score_listings-20260303T020000Z-eeee"), complete=True)
    assert newest_snapshot(str(tmp_path)) == Snapshot(later, "score_listings-20260303T020000Z-eeee")
