#!/usr/bin/env bash
# Time `make setup` and `make test` as on a fresh machine: a fresh clone, an empty project
# cache (so the Horovod wheel is built and the Delta jars fetched) and no pip cache (so every
# wheel is downloaded). Java and redis-server are whatever the machine has.
#   bash bench/bench_setup.sh [--with-tests]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK=$(mktemp -d /tmp/bench-setup-XXXX)
trap 'rm -rf "$WORK"' EXIT
git clone -q "$ROOT" "$WORK/repo"
cd "$WORK/repo"
export PRICESUGGEST_CACHE="$WORK/cache" PIP_NO_CACHE_DIR=1
start=$(date +%s)
make setup > "$WORK/setup.log" 2>&1 || { tail -30 "$WORK/setup.log"; exit 1; }
setup_done=$(date +%s)
echo "fresh make setup: $((setup_done - start)) s"
start=$(date +%s)
make setup > /dev/null
echo "second make setup (nothing to do): $(( $(date +%s) - start )) s"
if [ "${1:-}" = "--with-tests" ]; then
  start=$(date +%s)
  make test > "$WORK/test.log" 2>&1 || { tail -30 "$WORK/test.log"; exit 1; }
  echo "make test after set-up: $(( $(date +%s) - start )) s ($(tail -1 "$WORK/test.log"))"
fi
