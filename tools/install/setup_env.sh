#!/usr/bin/env bash
# Creates .venv (if missing) and installs the whole stack into it. Idempotent: a stamp keyed on the requirement
# files makes a second run a no-op, and mmcv's wheel is cached outside the checkout so a new venv takes seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
# This machine's pip config names optional local indexes; drop pip's warnings about the ones that are absent.
pip_quiet() { "$VENV/bin/python" -m pip "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2); }
PIP=pip_quiet
CONSTRAINTS=requirements/constraints.txt
STAMP="$VENV/.internvl_mm-install"
want=$(cat requirements/*.txt setup.py tools/install/*.sh | sha256sum | cut -c1-16)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi
start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
  echo "[install] creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
$PIP install -q --upgrade pip wheel -c "$CONSTRAINTS" "setuptools<81"
echo "[install] runtime requirements (torch, mmengine, deepspeed, ...)"
$PIP install -q -c "$CONSTRAINTS" -r requirements/runtime.txt -r requirements/tests.txt
echo "[install] mmcv 2.1.0 with ops"
bash tools/install/mmcv_wheel.sh "$VENV"
echo "[install] mmpretrain, mmsegmentation, mmdet (mmcv kept as installed)"
$PIP install -q -c "$CONSTRAINTS" -r requirements/openmmlab.txt
$PIP install -q --no-deps --no-build-isolation -e .
# mmseg and mmdet import mmpretrain.models themselves: a .pth in site-packages applies internvl_mm's mmpretrain fix
# wherever mmpretrain is imported, not only after "import internvl_mm" (internvl_mm/import_hook.py).
"$VENV/bin/python" internvl_mm/import_hook.py > /dev/null
# The toolboxes first: they must import without internvl_mm having been imported before them.
CHECK="import mmseg.apis, mmdet.apis, mmpretrain.models, internvl_mm, mmcv.ops, deepspeed"
$VENV/bin/python -c "$CHECK" 2>/dev/null \
  || { echo "[install] the stack does not import; see the error above" >&2; $VENV/bin/python -c "$CHECK"; exit 1; }
echo "$want" > "$STAMP"
echo "[install] done in $(( $(date +%s) - start )) s"
