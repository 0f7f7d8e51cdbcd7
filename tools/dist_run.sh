#!/usr/bin/env bash
# torchrun for tools/dist_train.sh and tools/dist_test.sh: bash tools/dist_run.sh TOOL.py NPROC [tool args...]
# One node without MASTER_ADDR / PORT: a standalone rendezvous on a free local port, so several jobs can share a
# machine. Several nodes: NNODES=M NODE_RANK=0..M-1 MASTER_ADDR=host0 [PORT=29500].
set -euo pipefail
TOOL=$1
NPROC=$2
shift 2
if [[ "${NNODES:-1}" == 1 && -z "${MASTER_ADDR:-}" && -z "${PORT:-}" ]]; then
  RENDEZVOUS=(--standalone)
else
  RENDEZVOUS=(--nnodes="${NNODES:-1}" --node-rank="${NODE_RANK:-0}" --master-addr="${MASTER_ADDR:-127.0.0.1}"
              --master-port="${PORT:-29500}")
fi
exec "${PYTHON:-python}" -m torch.distributed.run "${RENDEZVOUS[@]}" --nproc-per-node="$NPROC" \
  "$(dirname "$0")/$TOOL" --launcher pytorch "$@"
