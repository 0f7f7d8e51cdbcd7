#!/usr/bin/env bash
# Multi-GPU (or multi-rank CPU) training on one or several nodes with torchrun.
#   bash tools/dist_train.sh CONFIG GPUS [train.py args...]
# Several nodes: NNODES=2 NODE_RANK=0|1 MASTER_ADDR=host0 bash tools/dist_train.sh CONFIG 8 ...
set -euo pipefail
CONFIG=$1
GPUS=$2
shift 2
exec "${PYTHON:-python}" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node-rank="${NODE_RANK:-0}" --nproc-per-node="$GPUS" \
  --master-addr="${MASTER_ADDR:-127.0.0.1}" --master-port="${PORT:-29500}" \
  "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "$@"
