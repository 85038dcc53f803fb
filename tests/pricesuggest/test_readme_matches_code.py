"""What the README and the Makefile promise is what the code does: exit codes, table constraints, the master."""
import re

from pricesuggest.config import PROJECT_ROOT, load_config
from pricesuggest.exit_codes import ExitCode


def test_the_readme_lists_every_exit_code_and_no_other():
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme[readme.index("### Exit codes"):]
    section = section[:section.index("\n### ", 1)]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", section, flags=re.MULTILINE)}
    assert documented == {code.value for code in ExitCode}
    assert len({code.value for code in ExitCode}) == len(ExitCode)  # no alias hides a class


def test_the_readme_lists_every_tables_constraints():
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme[readme.index("**Enforced by Delta.**"):readme.index("**Change feed.**")]
    rows = {line.split("|")[1].strip(" `"): line for line in section.splitlines() if line.startswith("| `")}
    tables = load_config(env={}).storage.tables
    constrained = {name for name, t in tables.items() if t.constraints()}
    assert set(rows) == constrained
    for name in constrained:
        assert all(check in rows[name] for check in tables[name].checks), name


def test_the_makefiles_spark_submit_uses_the_conf_master_that_retries_tasks():
    import subprocess

    planned = subprocess.run(["make", "-n", "demo"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    master = load_config(env={}).spark.master
    assert master.startswith("local[") and master.count(",") == 1  # local[cores, maxFailures]: a task is retried
    assert f'--master "{master}"' in planned.stdout, planned.stdout[-2000:]
