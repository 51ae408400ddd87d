"""A stand-in for Slurm's ``srun`` that starts the tasks of one job step on this machine.

Not a test module: the launcher tests put an executable ``srun`` that runs this file on the
``PATH`` of ``tools/slurm_train.sh`` and ``tools/slurm_test.sh``. It reads the options those
scripts pass (``--ntasks``, ``--ntasks-per-node``, ``--kill-on-bad-exit``, the rest are
accepted and ignored) and starts every task with the variables real ``srun`` gives it:
``SLURM_PROCID``, ``SLURM_NTASKS``/``SLURM_NPROCS``, ``SLURM_LOCALID``, ``SLURM_NODEID``,
``SLURM_NNODES``, ``SLURM_NODELIST``/``SLURM_JOB_NODELIST`` (the "nodes" are
``127.0.0.[1-N]``, Slurm's bracket syntax, all this machine), ``SLURM_TASKS_PER_NODE``,
``SLURM_NTASKS_PER_NODE``, ``SLURM_JOB_ID``, ``SLURM_STEP_ID``, ``SLURM_JOB_NAME``,
``SLURM_JOB_PARTITION``, ``SLURMD_NODENAME``; no ``MASTER_ADDR``, ``RANK`` or
``LOCAL_RANK`` (srun sets none). Tasks are numbered node by node (block distribution).
With ``--kill-on-bad-exit=1`` the first task that fails ends the others, as srun does;
the exit status is the first failure's.
"""
import argparse
import math
import os
import subprocess
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(prog='srun')
    parser.add_argument('-p', '--partition', default='debug')
    parser.add_argument('-J', '--job-name', default='job')
    parser.add_argument('-n', '--ntasks', type=int, default=1)
    parser.add_argument('--ntasks-per-node', type=int)
    parser.add_argument('--kill-on-bad-exit', type=int, default=0)
    parser.add_argument('command', nargs=argparse.REMAINDER)
    args, _ = parser.parse_known_args()  # --gres, --cpus-per-task, ...: accepted, ignored
    command = args.command
    per_node = args.ntasks_per_node or args.ntasks
    nodes = math.ceil(args.ntasks / per_node)
    nodelist = f'127.0.0.[1-{nodes}]' if nodes > 1 else '127.0.0.1'
    tasks = []
    for rank in range(args.ntasks):
        node, local = divmod(rank, per_node)
        on_node = min(per_node, args.ntasks - node * per_node)
        env = {k: v for k, v in os.environ.items()
               if k not in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'MASTER_ADDR')}
        env.update(
            SLURM_PROCID=str(rank), SLURM_NTASKS=str(args.ntasks), SLURM_NPROCS=str(args.ntasks),
            SLURM_LOCALID=str(local), SLURM_NODEID=str(node), SLURM_NNODES=str(nodes),
            SLURM_NODELIST=nodelist, SLURM_JOB_NODELIST=nodelist,
            SLURM_TASKS_PER_NODE=f'{per_node}(x{nodes})' if on_node == per_node else str(on_node),
            SLURM_NTASKS_PER_NODE=str(per_node), SLURM_JOB_ID='4242', SLURM_STEP_ID='0',
            SLURM_JOB_NAME=args.job_name, SLURM_JOB_PARTITION=args.partition,
            SLURMD_NODENAME=f'127.0.0.{node + 1}')
        tasks.append(subprocess.Popen(command, env=env))
    failed = 0
    while any(t.poll() is None for t in tasks):
        bad = [t.returncode for t in tasks if t.returncode not in (None, 0)]
        if bad and not failed:
            failed = bad[0]
            if args.kill_on_bad_exit:
                print(f'srun: error: task exited with exit code {failed}; terminating the '
                      'job step', file=sys.stderr)
                for t in tasks:
                    if t.poll() is None:
                        t.terminate()
        time.sleep(0.1)
    bad = [t.returncode for t in tasks if t.returncode != 0]
    return failed or (bad[0] if bad else 0)


if __name__ == '__main__':
    sys.exit(main())
