#!/usr/bin/env bash
# Multi-GPU (or multi-rank CPU) training with torchrun: bash tools/dist_train.sh CONFIG GPUS [train.py args...]
# Several nodes: NNODES=2 NODE_RANK=0|1 MASTER_ADDR=host0 bash tools/dist_train.sh CONFIG 8 ... (see dist_run.sh)
set -euo pipefail
CONFIG=$1
GPUS=$2
shift 2
exec bash "$(dirname "$0")/dist_run.sh" train.py "$GPUS" "$CONFIG" "$@"
