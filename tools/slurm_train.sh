#!/usr/bin/env bash
# Training on a Slurm cluster: srun starts one task per GPU, train.py reads the rank and
# world size from Slurm (--launcher slurm).
# Usage: GPUS=8 bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py options]
# GPUS (default 4), GPUS_PER_NODE (4), CPUS_PER_TASK (5), SRUN_ARGS, PORT (29500),
# PYTHON (python). Each task uses GPU SLURM_LOCALID; docs/distributed.md.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 PARTITION JOB_NAME CONFIG [train.py options]" >&2
  exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}
PYTHON=${PYTHON:-python}
# srun passes the environment on: the master port of the tasks' process group.
export MASTER_PORT=${PORT:-${MASTER_PORT:-29500}}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

# SRUN_ARGS is split on spaces on purpose (several srun options in one variable).
# shellcheck disable=SC2086
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    "$PYTHON" -u "$ROOT/tools/train.py" "$CONFIG" --launcher slurm "${@:4}"
