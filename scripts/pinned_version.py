"""Print the version pinned for a package in pyproject.toml (the single list of versions)."""
import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10 (pyproject allows it): pip vendors the same parser
    from pip._vendor import tomli as tomllib

pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
requirements = list(pyproject["project"]["dependencies"])
for extra in pyproject["project"].get("optional-dependencies", {}).values():
    requirements += extra
wanted = sys.argv[1].lower()
for requirement in requirements:
    match = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^;\s]+)", requirement)
    if match and match.group(1).lower() == wanted:
        print(match.group(3))
        sys.exit(0)
sys.exit(f"{wanted} has no exact pin in pyproject.toml")
