#!/usr/bin/env bash
# Distributed training on one or more nodes with torchrun (torch.distributed.launch is
# deprecated). Usage: bash tools/dist_train.sh CONFIG NUM_PROCS [train.py options]
# NUM_PROCS is the number of processes (GPUs) on this node. Multi-node: NNODES,
# NODE_RANK, MASTER_ADDR, PORT as for torchrun, on every node. MAX_RESTARTS (default 0):
# restart the workers that many times after a failure; each restart resumes from the
# newest loadable checkpoint. RDZV_TIMEOUT (600 s): how long to wait for all nodes.
# PYTHON picks the interpreter (default: python). docs/distributed.md has the details.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 CONFIG NUM_PROCS [train.py options]" >&2
  exit 2
fi
# shellcheck source=tools/torchrun_launch.sh
source "$(dirname "$0")/torchrun_launch.sh"
[ -f "$1" ] || die "config file $1 does not exist"
torchrun_launch "$(cd "$(dirname "$0")" && pwd)/train.py" "$2" "$1" --launcher pytorch "${@:3}"
