#!/usr/bin/env bash
# Sourced by dist_train.sh and dist_test.sh: checks the launch settings, then runs
# torchrun on SCRIPT with NPROCS processes on this node and says what went wrong when it
# fails at start-up. Usage (from those scripts): torchrun_launch SCRIPT NPROCS [args...]
# Settings (environment): NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500),
# MAX_RESTARTS (0: torchrun restarts the worker group that many times after a failure),
# RDZV_TIMEOUT (600: seconds to wait for all nodes to join), PYTHON (python).

die() {
  echo "$(basename "$0"): $*" >&2
  exit 2
}

is_count() {  # a non-negative integer
  [[ $1 =~ ^[0-9]+$ ]]
}

torchrun_launch() {
  local script=$1 nprocs=$2
  shift 2
  local nnodes=${NNODES:-1} node_rank=${NODE_RANK:-0} port=${PORT:-29500}
  local master_addr=${MASTER_ADDR:-127.0.0.1} restarts=${MAX_RESTARTS:-0}
  local timeout=${RDZV_TIMEOUT:-600} python=${PYTHON:-python}
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

  is_count "$nprocs" && [ "$nprocs" -ge 1 ] ||
    die "NUM_PROCS=$nprocs: give the number of processes (GPUs) on this node, 1 or more"
  is_count "$nnodes" && [ "$nnodes" -ge 1 ] || die "NNODES=$nnodes: give 1 or more nodes"
  is_count "$node_rank" && [ "$node_rank" -lt "$nnodes" ] ||
    die "NODE_RANK=$node_rank is out of range for NNODES=$nnodes (0 to $((nnodes - 1)))"
  is_count "$port" && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "PORT=$port: not a port"
  is_count "$restarts" || die "MAX_RESTARTS=$restarts: give 0 or more restarts"
  is_count "$timeout" && [ "$timeout" -ge 1 ] || die "RDZV_TIMEOUT=$timeout: give seconds"
  if [ "$nnodes" -gt 1 ] && [ -z "${MASTER_ADDR:-}" ]; then
    die "NNODES=$nnodes: set MASTER_ADDR to the address of node 0, the same on every node"
  fi
  if [ "$node_rank" -eq 0 ] && ! "$python" -c '
import socket, sys
with socket.socket() as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("", int(sys.argv[1])))
    except OSError:
        sys.exit(1)' "$port"; then
    die "PORT=$port is in use on this machine (another run?): pick a free port with PORT=N," \
        "the same on every node"
  fi

  # torchrun's start-up errors come as tracebacks: keep its stderr as it is, and note the
  # lines that say why it stopped, to repeat them in one sentence at the end.
  # c10d rendezvous (torchrun's elastic one): a restart starts a fresh rendezvous round on
  # every node. Node 0 hosts it; the nodes' order in the ranks follows their arrival.
  local reasons status is_host=0
  [ "$node_rank" -eq 0 ] && is_host=1
  reasons=$(mktemp)
  set +e
  {
    PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" \
    "$python" -m torch.distributed.run \
        --nnodes="$nnodes" \
        --nproc_per_node="$nprocs" \
        --rdzv_backend=c10d \
        --rdzv_endpoint="$master_addr:$port" \
        --rdzv_conf=join_timeout="$timeout",read_timeout="$timeout",is_host="$is_host" \
        --max_restarts="$restarts" \
        "$script" "$@" 2>&1 1>&3 3>&- |
      while IFS= read -r line; do  # stderr passes on; the telling lines are noted
        printf '%s\n' "$line" >&2
        case $line in
          *RendezvousTimeoutError* | *'trying to connect'* | *EADDRINUSE* | \
            *'differs between processes'*) printf '%s\n' "$line" >>"$reasons" ;;
        esac
      done
  } 3>&1
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then
    local where="node $node_rank of $nnodes, $master_addr:$port"
    if grep -q 'RendezvousTimeoutError' "$reasons"; then
      echo "$(basename "$0"): not all $nnodes nodes joined within RDZV_TIMEOUT=${timeout}s" \
           "($where): start NODE_RANK=0..$((nnodes - 1)) with the same MASTER_ADDR and PORT" >&2
    elif grep -q 'trying to connect' "$reasons"; then
      echo "$(basename "$0"): node 0 could not be reached at $master_addr:$port within" \
           "RDZV_TIMEOUT=${timeout}s ($where): is node 0 started, MASTER_ADDR its address" \
           "and PORT open?" >&2
    elif grep -q 'EADDRINUSE' "$reasons"; then
      echo "$(basename "$0"): PORT=$port is in use on node 0: pick a free port" >&2
    elif grep -q 'differs between processes' "$reasons"; then
      echo "$(basename "$0"): the nodes were started with different configs (above)" >&2
    else
      echo "$(basename "$0"): torchrun failed with status $status ($where); see the" \
           "messages above" >&2
    fi
  fi
  rm -f "$reasons"
  return "$status"
}
