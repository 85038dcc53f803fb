#!/usr/bin/env bash
# `make setup`: everything a fresh machine needs, idempotent. Network is used here only;
# after it, no Spark session, test or job fetches anything.
#   .venv with the project (pyproject.toml pins) + the patched Horovod wheel (cached)
#   Delta Lake jars from Maven Central (cached) placed in the venv's Spark jars/
#   Java 17, Debian's redis-server, chromium and chromium-driver (the seller's page test) when missing
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${PRICESUGGEST_CACHE:-$HOME/.cache/pricesuggest}"
PYTHON="${PYTHON:-python3}"
VENV=.venv
mkdir -p "$CACHE"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_install() {
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" \
    || { echo "could not install $* (need root or sudo): install it, then rerun make setup" >&2; exit 1; }
}

if ! java -version 2>&1 | grep -qE 'version "17'; then
  echo "== Java 17 (Spark 3.5)"; apt_install openjdk-17-jre-headless
fi
if ! command -v redis-server >/dev/null; then
  echo "== redis-server (Redis online-store tests)"; apt_install redis-server
fi

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "== chromium + chromium-driver (the seller's page test drives a real browser)"
  apt_install chromium chromium-driver
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install -q --upgrade pip wheel "setuptools>=68"

echo "== project and pinned dependencies (pyproject.toml)"
"$PY" -m pip install -q -e '.[dev,eval]'
echo "== horovod (patched wheel, cached in $CACHE/wheels)"
scripts/install_horovod.sh "$PY" "$CACHE"
"$PY" -m pip install -q -e '.[dev,eval,distributed]'

echo "== Delta Lake jars (Maven Central once, then $CACHE/jars)"
"$PY" scripts/install_delta_jars.py "$CACHE/jars"
echo "setup done: $("$PY" -c 'import pyspark, delta, torch, horovod, feast, petastorm; print("pyspark", pyspark.__version__, "| torch", torch.__version__, "| horovod", horovod.__version__, "| feast", feast.__version__, "| petastorm", petastorm.__version__)')"
