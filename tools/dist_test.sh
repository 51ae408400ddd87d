#!/usr/bin/env bash
# Distributed testing with torchrun (torch.distributed.launch is deprecated).
# Usage: bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py options]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT as for torchrun; RDZV_TIMEOUT (600 s)
# bounds the wait for all nodes. PYTHON picks the interpreter (default: python).
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 CONFIG CHECKPOINT NUM_PROCS [test.py options]" >&2
  exit 2
fi
# shellcheck source=tools/torchrun_launch.sh
source "$(dirname "$0")/torchrun_launch.sh"
[ -f "$1" ] || die "config file $1 does not exist"
torchrun_launch "$(cd "$(dirname "$0")" && pwd)/test.py" "$3" "$1" "$2" --launcher pytorch \
    "${@:4}"
