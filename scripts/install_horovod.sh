#!/usr/bin/env bash
# Install Horovod into the project's venv from a cached, patched wheel; build it once if missing.
#
# Why: horovod 0.28.1 (the last release) sets CMAKE_CXX_STANDARD 14 in its top-level and
# horovod/torch CMakeLists, but torch >= 2.1 headers need C++17, so the PyPI sdist fails to
# compile. We patch both to 17 and build CPU collectives over Gloo only (no MPI/TF/MXNet).
# The wheel links against torch's C++ ABI, so the cache key is (horovod, torch, python).
#
# usage: scripts/install_horovod.sh PYTHON CACHE_DIR
set -euo pipefail
PY="$1"
CACHE="$2"
HVD_VERSION=$("$PY" "$(dirname "$0")/pinned_version.py" horovod)
TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')
PY_TAG=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
WHEEL_DIR="$CACHE/wheels/horovod-$HVD_VERSION-torch-$TORCH_VERSION-$PY_TAG"

if "$PY" -c "import horovod.torch, sys; sys.exit(0 if horovod.__version__ == '$HVD_VERSION' else 1)" 2>/dev/null; then
  echo "horovod $HVD_VERSION already installed"
  exit 0
fi

if ! ls "$WHEEL_DIR"/horovod-*.whl >/dev/null 2>&1; then
  echo "building horovod $HVD_VERSION for torch $TORCH_VERSION / $PY_TAG (once; cached in $WHEEL_DIR)"
  BUILD=$(mktemp -d)
  trap 'rm -rf "$BUILD"' EXIT
  "$PY" -m pip download --no-deps --no-binary :all: "horovod==$HVD_VERSION" -d "$BUILD" -q
  tar xzf "$BUILD"/horovod-"$HVD_VERSION".tar.gz -C "$BUILD"
  SRC="$BUILD/horovod-$HVD_VERSION"
  sed -i 's/set(CMAKE_CXX_STANDARD 14)/set(CMAKE_CXX_STANDARD 17)/' "$SRC/CMakeLists.txt" "$SRC/horovod/torch/CMakeLists.txt"
  grep -q 'CMAKE_CXX_STANDARD 17' "$SRC/horovod/torch/CMakeLists.txt" || { echo "patch did not apply" >&2; exit 1; }
  "$PY" -m pip install -q wheel
  HOROVOD_WITH_PYTORCH=1 HOROVOD_WITH_GLOO=1 HOROVOD_WITHOUT_MPI=1 \
  HOROVOD_WITHOUT_TENSORFLOW=1 HOROVOD_WITHOUT_MXNET=1 HOROVOD_CPU_OPERATIONS=gloo \
  MAKEFLAGS="-j$(nproc)" \
    "$PY" -m pip wheel --no-build-isolation --no-deps -w "$BUILD/dist" "$SRC"
  mkdir -p "$WHEEL_DIR"
  cp "$BUILD"/dist/horovod-*.whl "$WHEEL_DIR/"
fi
"$PY" -m pip install -q --no-deps "$WHEEL_DIR"/horovod-*.whl
# horovod's own runtime dependencies (cloudpickle, psutil, pyyaml, packaging) come from pyproject.
"$PY" -c "import horovod.torch as hvd; print('horovod', __import__('horovod').__version__, 'gloo built:', hvd.gloo_built())"
