"""Speed of our PSPNet against MMSegmentation's own, measured in the same run.

Both models are built from configs (ours from ``configs/pspnet_r50_ade20k.py``, MMSegmentation's
from the config it ships), given the same weights, and timed alternately on the same input, so
that machine load affects both alike. Reports the median time of each and the ratio
ours / MMSegmentation (below 1 is faster), plus the max abs logit difference.

    python tools/benchmark.py --size 512 --iters 10             # inference, CPU
    python tools/benchmark.py --size 512 --mode train --device cuda
"""
import argparse
import os.path as osp
import statistics
import time

import mmseg
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

import mmseg_psp_ext  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
OURS = osp.join(REPO, 'configs/pspnet_r50_ade20k.py')
THEIRS = osp.join(osp.dirname(mmseg.__file__), '.mim/configs/pspnet/'
                  'pspnet_r50-d8_4xb4-80k_ade20k-512x512.py')


def build(path: str, device: str) -> torch.nn.Module:
    cfg = Config.fromfile(path)
    cfg.model.pretrained = None
    cfg.model.backbone.init_cfg = None
    return revert_sync_batchnorm(MODELS.build(cfg.model)).to(device)


def step(model: torch.nn.Module, x: torch.Tensor, mode: str) -> torch.Tensor:
    if mode == 'inference':
        with torch.no_grad():
            return model(x, mode='tensor')
    out = model(x, mode='tensor')
    out.float().mean().backward()
    return out.detach()


def timed(model, x, mode, device) -> float:
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    start = time.perf_counter()
    step(model, x, mode)
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, default=512, help='square input side')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--mode', choices=['inference', 'train'], default='inference')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()

    register_all_modules()
    init_default_scope('mmseg')
    torch.manual_seed(0)
    ours, theirs = build(OURS, args.device), build(THEIRS, args.device)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    for model in (ours, theirs):
        model.train(args.mode == 'train')
    x = torch.randn(args.batch, 3, args.size, args.size, device=args.device)
    diff = (step(ours.eval(), x, 'inference') - step(theirs.eval(), x, 'inference')).abs().max()
    for model in (ours, theirs):
        model.train(args.mode == 'train')
    for _ in range(args.warmup):
        step(ours, x, args.mode), step(theirs, x, args.mode)
    times = {'ours': [], 'mmseg': []}
    for _ in range(args.iters):  # alternate so that load changes hit both alike
        times['ours'].append(timed(ours, x, args.mode, args.device))
        times['mmseg'].append(timed(theirs, x, args.mode, args.device))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f'PSPNet-R50-D8 {args.mode}, {args.batch}x3x{args.size}x{args.size} on '
          f'{args.device}, median of {args.iters}')
    print(f"  ours  {med['ours'] * 1000:9.1f} ms")
    print(f"  mmseg {med['mmseg'] * 1000:9.1f} ms")
    print(f"  ratio ours/mmseg {med['ours'] / med['mmseg']:.3f}")
    print(f'  max abs logit difference {diff.item():.2e}')


if __name__ == '__main__':
    main()
