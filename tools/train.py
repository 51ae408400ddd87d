"""Trains a segmentor with the plugin registered (MMSegmentation's ``tools/train.py``).

    python tools/train.py configs/pspnet_r50_ade20k.py [--work-dir DIR] [--resume [PATH]]
        [--amp] [--auto-scale-lr] [--cfg-options key=value ...]
    bash tools/dist_train.sh CONFIG NUM_GPUS [ARGS]         # torchrun, --launcher pytorch
    bash tools/slurm_train.sh PARTITION JOB CONFIG [ARGS]   # srun, --launcher slurm

Works on both framework stacks (docs/frameworks.md); several nodes, Slurm, restarts and
the batch size: docs/distributed.md. A worker group that torchrun restarts
(``MAX_RESTARTS``) resumes by itself from the newest loadable checkpoint of the work dir.
"""
import argparse
import logging
import os
import os.path as osp
import sys
from typing import Optional, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # the plugin, uninstalled

import mmseg_psp_ext  # noqa: E402,F401  (registers the plugin; weights_only checkpoint shim)
from mmseg_psp_ext.engine import (CheckpointError, check_checkpoint,  # noqa: E402
                                  find_resumable_checkpoint)
from mmseg_psp_ext.engine.batch_scaling import plan_batch  # noqa: E402
from mmseg_psp_ext.engine.distributed import (  # noqa: E402
    LaunchError, finish_distributed, setup_distributed)
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.device import get_device  # noqa: E402
from mmengine.dist import get_world_size  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmseg.registry import RUNNERS  # noqa: E402


def parse_args() -> argparse.Namespace:
    """Parses the command line (the same options as MMSegmentation's train.py)."""
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', const='auto', default=None, metavar='PATH',
        help='resume training: from PATH when given, else from the latest checkpoint in '
        'the work_dir (or from load_from when the config sets it, as MMSegmentation does); '
        'a corrupt or truncated latest checkpoint is skipped for the newest one that loads')
    parser.add_argument(
        '--amp', action='store_true', default=False,
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--auto-scale-lr', action='store_true', default=False,
        help='scale the lr linearly with the global batch (GPUs x images per GPU) against '
        "the batch the config is for (auto_scale_lr.base_batch_size, else the config name's "
        'NxbB), with MMEngine\'s auto_scale_lr')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, as key=value pairs (key="[a,b]" for lists)')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK instead.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    """Builds the runner from the config and trains."""
    mmseg_psp_ext.quiet_framework_logs()  # known-harmless framework warnings, see the docs
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    try:  # process group (gloo without CUDA), Slurm variables, same config on every node
        setup_distributed(cfg)
    except LaunchError as err:
        sys.exit(f'train.py: {err}')
    try:
        batch_note = plan_batch(cfg, get_world_size(), args.auto_scale_lr)
    except ValueError as err:
        sys.exit(f'train.py: {err}')
    if batch_note:
        print_log(batch_note, logger='current', level=logging.WARNING
                  if batch_note.startswith('WARNING') else logging.INFO)

    # work_dir priority: command line > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.type
        if optim_wrapper in ('AmpOptimWrapper', 'AnyDeviceAmpOptimWrapper'):
            print_log('AMP training is already enabled in your config.',
                      logger='current', level=logging.WARNING)
        elif optim_wrapper != 'OptimWrapper':
            sys.exit('train.py: --amp needs optim_wrapper.type OptimWrapper, '
                     f'the config has {optim_wrapper!r}')
        else:
            # MMEngine's AmpOptimWrapper on a GPU (fp16), bf16 autocast on the CPU.
            cfg.optim_wrapper.type = 'AnyDeviceAmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    if cfg.optim_wrapper.get('type') == 'AmpOptimWrapper' and get_device() == 'cpu':
        # MMEngine's AmpOptimWrapper asserts a GPU; ours is the same there, bf16 here.
        print_log('AmpOptimWrapper needs a GPU: using AnyDeviceAmpOptimWrapper (bfloat16 '
                  'autocast) on the CPU', logger='current', level=logging.WARNING)
        cfg.optim_wrapper.type = 'AnyDeviceAmpOptimWrapper'

    restart = int(os.environ.get('TORCHELASTIC_RESTART_COUNT', '0') or 0)
    if restart:
        # torchrun restarted the worker group (MAX_RESTARTS): go on from the newest
        # checkpoint this run wrote, whatever --resume said at the first start.
        print_log(f'torchrun restart {restart}: resuming from the newest loadable checkpoint '
                  f'in {cfg.work_dir}', logger='current', level=logging.WARNING)
    if args.resume is not None or restart:
        # `--resume PATH`, or MMSegmentation's `--resume --cfg-options load_from=PATH`;
        # a load_from in the config file is the initial weights, not a run to resume.
        given = ((args.cfg_options or {}).get('load_from') if args.resume == 'auto'
                 else args.resume)
        try:
            cfg.resume, cfg.load_from = resume_from(given, cfg, restart=bool(restart))
        except CheckpointError as err:
            sys.exit(f'train.py: --resume: {err}')

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()
    finish_distributed()


def resume_from(given: Optional[str], cfg: Config,
                restart: bool = False) -> Tuple[bool, Optional[str]]:
    """What ``--resume [PATH]`` sets: ``cfg.resume`` and ``cfg.load_from``.

    Args:
        given (str | None): The checkpoint named on the command line, or None for the
            latest one in the work dir.
        cfg (Config): The run's config (``work_dir`` set).
        restart (bool): A torchrun restart: the work dir's newest loadable checkpoint
            wins over ``given``, which is used only while the work dir has none.

    Returns:
        tuple: ``(resume, load_from)``. ``load_from`` None with ``resume`` True lets
        MMEngine find the work dir's latest checkpoint itself (when it is sound).

    Raises:
        CheckpointError: When the given file, or every checkpoint of the work dir, fails
            to load.
    """
    if restart:
        path, _ = find_resumable_checkpoint(cfg.work_dir)
        if path is not None:
            return True, path
    if given is not None:
        if '://' not in given:  # a local file (MMEngine reads URLs itself)
            check_checkpoint(given)
        return True, given
    path, skipped = find_resumable_checkpoint(cfg.work_dir)
    if path is None:
        print_log(f'--resume: no checkpoint in {cfg.work_dir} yet, training starts at '
                  'iteration 1', logger='current', level=logging.WARNING)
        return False, cfg.get('load_from')
    pointer = osp.join(cfg.work_dir, 'last_checkpoint')
    if not skipped and osp.isfile(pointer) and not cfg.get('load_from'):
        return True, None  # the latest is sound: MMEngine's own auto-resume (and log line)
    return True, path


if __name__ == '__main__':
    main()
