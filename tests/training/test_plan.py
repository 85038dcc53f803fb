"""The driver's pre-flight checks (training/plan.py): a run that would stall Horovod never starts."""
from __future__ import annotations

from training.plan import shard_problem


def test_a_training_split_smaller_than_one_global_step_is_refused():
    assert "fewer than one step of 2 x 128" in shard_problem("train", 255, 4, num_proc=2, batch_size=128)
    assert shard_problem("train", 256, 4, num_proc=2, batch_size=128) is None


def test_fewer_files_than_processes_is_refused_with_the_setting_that_fixes_it():
    problem = shard_problem("validation", 10_000, 1, num_proc=2, batch_size=128)
    assert "1 file(s) for 2 processes" in problem and "files_per_split >= 2" in problem
    assert shard_problem("validation", 10_000, 2, num_proc=2, batch_size=128) is None


def test_a_small_validation_split_is_not_held_to_a_full_step():
    # validation may be smaller than a step (val_steps is then 1, or 0 below one row per process)
    assert shard_problem("validation", 3, 2, num_proc=2, batch_size=128) is None
