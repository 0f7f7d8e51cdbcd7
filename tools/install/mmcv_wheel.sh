#!/usr/bin/env bash
# Installs mmcv 2.1.0 *with ops* into the venv given as $1.
# Order of sources: our wheel cache (keyed on Python + torch version), then ../shared/wheelhouse when it holds a
# wheel for exactly this stack, else a build from the PyPI sdist. The build raises mmcv's hard-coded -std=c++17 to
# c++20 (torch 2.14's headers need it) and uses -O2 instead of Python's -g -O3 (10 instead of 24 minutes on 2 cores,
# a 2 MB instead of a 32 MB wheel). Set MMCV_FORCE_BUILD=1 to ignore cached and shared wheels.
set -euo pipefail
VENV=$1
PY="$(cd "$VENV" && pwd)/bin/python"
MMCV_VERSION=2.1.0
torch_version=$("$PY" -c "import torch; print(torch.__version__.split('+')[0])")
py_tag=$("$PY" -c "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')")
cache="${INTERNVL_MM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/internvl_mm}/wheels/torch-$torch_version-$py_tag"
shared=../shared/wheelhouse
mkdir -p "$cache"

if [ "${MMCV_FORCE_BUILD:-0}" != 1 ] && DS_ACCELERATOR=${DS_ACCELERATOR:-cpu} "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
  echo "[mmcv] $MMCV_VERSION with ops already installed"; exit 0
fi
wheel=""
if [ "${MMCV_FORCE_BUILD:-0}" != 1 ]; then
  wheel=$(ls "$cache"/mmcv-$MMCV_VERSION-$py_tag-*.whl 2>/dev/null | head -n1 || true)
  # The shared wheel was built against torch 2.14.1 only (its README); never take it for another torch.
  if [ -z "$wheel" ] && [ "$torch_version" = 2.14.1 ] && ls $shared/mmcv-$MMCV_VERSION-$py_tag-*.whl >/dev/null 2>&1; then
    wheel=$(ls $shared/mmcv-$MMCV_VERSION-$py_tag-*.whl | head -n1)
    echo "[mmcv] using the prebuilt wheel in $shared"
  fi
fi
if [ -z "$wheel" ]; then
  echo "[mmcv] building $MMCV_VERSION from source with ops (about 10 minutes on 2 cores)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  "$PY" -m pip download -q --no-deps --no-build-isolation --no-binary :all: -d "$work" "mmcv==$MMCV_VERSION"
  tar -xzf "$work"/mmcv-$MMCV_VERSION.tar.gz -C "$work"
  src="$work/mmcv-$MMCV_VERSION"
  grep -q -- '-std=c++17' "$src/setup.py" || { echo "[mmcv] setup.py no longer sets -std=c++17; review the patch" >&2; exit 1; }
  sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
  (cd "$src" && MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} CFLAGS="-O2" CXXFLAGS="-O2" \
     "$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$cache" .)
  wheel=$(ls "$cache"/mmcv-$MMCV_VERSION-$py_tag-*.whl | head -n1)
  echo "[mmcv] cached $wheel"
fi
"$PY" -m pip install -q --no-deps --force-reinstall "$wheel"
DS_ACCELERATOR=${DS_ACCELERATOR:-cpu} "$PY" -c "import mmcv.ops; from mmcv.ops import nms, roi_align" \
  || { echo "[mmcv] $wheel installed but mmcv.ops does not import" >&2; exit 1; }
