"""Starting a distributed run: Slurm's environment, process group, same config everywhere.

``tools/train.py`` and ``tools/test.py`` call :func:`setup_distributed` before building the
runner and :func:`finish_distributed` after a run that succeeded. It reads the rank of each process from torchrun (``RANK``, ``LOCAL_RANK``, ...) or
from Slurm (``SLURM_PROCID``, ``SLURM_LOCALID``, ...), initialises the process group the
way MMEngine's runner would (so the runner finds it ready), and compares a hash of the
config across all processes, so that nodes started with different configs or options stop
at once with a message instead of training different models or hanging in a collective.

The device of each process is its *local* rank (``LOCAL_RANK`` from torchrun,
``SLURM_LOCALID`` from Slurm), never ``rank % GPUs per node``, which picks the wrong device
when nodes run different numbers of processes.
"""
import hashlib
import os
import re
import socket
from datetime import timedelta
from typing import Any, Dict, List, Mapping

import torch

from ..compat import init_process_group_from_env, prepare_cpu_distributed

DEFAULT_PORT = '29500'


class LaunchError(RuntimeError):
    """A distributed run that cannot start; the message says what is wrong and the fix."""


def first_slurm_host(nodelist: str) -> str:
    """The first host of a Slurm node list, as ``scontrol show hostnames`` gives it.

    Args:
        nodelist (str): ``SLURM_NODELIST``, e.g. ``'gpu[07-09,12],cpu3'`` or ``'node1'``.

    Returns:
        str: The first host name (``'gpu07'`` here).

    Raises:
        LaunchError: When the list is empty or malformed.
    """
    match = re.match(r'^([^,\[\]]+)(?:\[([^\]]+)\])?', nodelist.strip())
    if not match:
        raise LaunchError(f'SLURM_NODELIST={nodelist!r}: cannot read the first host')
    prefix, ranges = match.groups()
    if ranges is None:
        return prefix
    first = ranges.split(',')[0].split('-')[0]
    if not first.isdigit():
        raise LaunchError(f'SLURM_NODELIST={nodelist!r}: cannot read the first host')
    return prefix + first


def slurm_environment(environ: Mapping[str, str]) -> Dict[str, str]:
    """torchrun's variables for a process that Slurm's ``srun`` started.

    Args:
        environ (Mapping[str, str]): The process environment with ``SLURM_PROCID``,
            ``SLURM_NTASKS``, ``SLURM_LOCALID`` and ``SLURM_NODELIST`` (as ``srun`` sets
            them); ``MASTER_ADDR`` / ``MASTER_PORT`` when set win over the node list and
            the default port 29500.

    Returns:
        dict: ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE`` (when Slurm
        gives ``SLURM_NTASKS_PER_NODE``), ``MASTER_ADDR`` and ``MASTER_PORT``.

    Raises:
        LaunchError: Naming the missing or malformed Slurm variable.
    """
    values = {}
    for name in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_LOCALID'):
        value = environ.get(name, '')
        if not value.isdigit():
            raise LaunchError(f'--launcher slurm: {name}={value!r} is not a number; start '
                              'the job with srun (tools/slurm_train.sh), not directly')
        values[name] = int(value)
    if values['SLURM_PROCID'] >= values['SLURM_NTASKS']:
        raise LaunchError(f"--launcher slurm: SLURM_PROCID={values['SLURM_PROCID']} is out "
                          f"of range for SLURM_NTASKS={values['SLURM_NTASKS']}")
    nodelist = environ.get('SLURM_NODELIST') or environ.get('SLURM_JOB_NODELIST', '')
    if 'MASTER_ADDR' in environ:
        addr = environ['MASTER_ADDR']
    elif nodelist:
        addr = first_slurm_host(nodelist)
    else:
        raise LaunchError('--launcher slurm: neither MASTER_ADDR nor SLURM_NODELIST is set')
    env = dict(RANK=str(values['SLURM_PROCID']), WORLD_SIZE=str(values['SLURM_NTASKS']),
               LOCAL_RANK=str(values['SLURM_LOCALID']), MASTER_ADDR=addr,
               MASTER_PORT=environ.get('MASTER_PORT', DEFAULT_PORT))
    per_node = environ.get('SLURM_NTASKS_PER_NODE', '').split('(')[0]
    if per_node.isdigit():
        env['LOCAL_WORLD_SIZE'] = per_node
    return env


def config_digest(cfg: Any) -> str:
    """sha256 of the config as the runner will use it (file, bases and options merged).

    Args:
        cfg (Config): The run's config.

    Returns:
        str: The hexadecimal digest.
    """
    return hashlib.sha256(cfg.pretty_text.encode()).hexdigest()


def check_same_config(cfg: Any) -> None:
    """Stops every process when the config differs between processes.

    Gathers the host, rank and config digest of every process (one small collective).

    Args:
        cfg (Config): This process's config.

    Raises:
        LaunchError: On every process, listing the processes whose config differs from
            rank 0's.
    """
    import torch.distributed as torch_dist

    mine = dict(rank=torch_dist.get_rank(), host=socket.gethostname(),
                node=os.environ.get('GROUP_RANK', os.environ.get('SLURM_NODEID', '?')),
                digest=config_digest(cfg))
    everyone: List[Dict[str, Any]] = [None] * torch_dist.get_world_size()
    torch_dist.all_gather_object(everyone, mine)
    reference = everyone[0]['digest']
    differ = [p for p in everyone if p['digest'] != reference]
    if differ:
        listing = '; '.join(f"rank {p['rank']} (node {p['node']}, host {p['host']}): "
                            f"{p['digest'][:12]}" for p in everyone)
        raise LaunchError(
            f'the config differs between processes ({len(differ)} of {len(everyone)} differ '
            f'from rank 0): sha256 of the merged config per process: {listing}. Start every '
            'node with the same config file, the same --cfg-options and the same code')


def setup_distributed(cfg: Any) -> None:
    """Initialises the process group of a ``pytorch`` or ``slurm`` launch and checks it.

    With ``--launcher slurm`` the Slurm variables are turned into torchrun's (see
    :func:`slurm_environment`), so that both launchers take the same path: the device is
    ``cuda:LOCAL_RANK`` with CUDA, gloo on the CPU without (:func:`prepare_cpu_distributed`).
    Then the config digests are compared (:func:`check_same_config`). Does nothing
    without a launcher.

    Args:
        cfg (Config): The run's config with ``cfg.launcher`` set; changed in place as
            :func:`prepare_cpu_distributed` does.

    Raises:
        LaunchError: For a malformed Slurm environment or configs that differ.
    """
    import torch.distributed as torch_dist

    launcher = cfg.get('launcher', 'none')
    if launcher not in ('pytorch', 'slurm'):
        return
    if launcher == 'slurm':
        os.environ.update(slurm_environment(os.environ))
    prepare_cpu_distributed(cfg)  # without CUDA: gloo process group, CPU DDP
    if not torch_dist.is_initialized():
        # What MMEngine's init_dist('pytorch') does (device cuda:LOCAL_RANK), with the
        # process group keyed by the torchrun attempt.
        torch.cuda.set_device(int(os.environ['LOCAL_RANK']))
        options = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
        if 'timeout' in options and not isinstance(options['timeout'], timedelta):
            options['timeout'] = timedelta(seconds=options['timeout'])
        init_process_group_from_env(options.pop('backend', 'nccl'), **options)
    device = f"cuda:{os.environ['LOCAL_RANK']}" if torch.cuda.is_available() else 'cpu'
    # One line per process (the runner's logger prints on rank 0 only).
    print(f'{launcher} launch: rank {torch_dist.get_rank()} of {torch_dist.get_world_size()}, '
          f'local rank {os.environ["LOCAL_RANK"]} on {socket.gethostname()}, device {device}',
          flush=True)
    check_same_config(cfg)


def finish_distributed() -> None:
    """Ends a distributed run that succeeded: every process meets, then the group goes.

    PyTorch asks every process to call ``destroy_process_group()`` at the end of its main
    function. Without it, gloo's threads can still hold work when the interpreter shuts
    down, and a process could hang at exit after its results were written (a
    ``tools/dist_test.sh`` node on two nodes did, once, in CI). Call it only after a run
    that finished on this process: after an error the other processes may be inside a
    collective, and waiting for them would hang. Does nothing when not distributed.
    """
    import torch.distributed as torch_dist

    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
