"""Times our PSPNet against MMSegmentation's own, same weights and inputs, in one process.

    python tools/benchmark.py CONFIG [--mode {infer,train}] [--dtype {fp32,bf16,int8}]
        [--backend {eager,onnxruntime,openvino}] [--size S] [--batch N] [--iters N]
        [--fuse-conv-bn] [--channels-last] [--checkpoint CKPT] [--dataset]
        [--calib-images N] [--float-layers PREFIX ...]

The reference is always MMSegmentation's PSPNet in eager fp32: CONFIG's model with our
module names mapped to theirs (``DilatedResNet`` -> ``ResNetV1c``, ``PPMHead`` ->
``PSPHead``, ``FCNAuxHead`` -> ``FCNHead``, ``PSPEncoderDecoder`` -> ``EncoderDecoder``;
SyncBN -> BN), which for ``configs/pspnet_r50_ade20k.py`` is what MMSegmentation's
``pspnet_r50-d8`` config builds. Our state dict is loaded into it strictly. Weights are
random (BN statistics included) unless ``--checkpoint`` is given. Runs alternate ours /
reference so that load on the machine hits both alike; the medians are reported.

``--mode infer`` times normalised images (N, 3, S, S) -> logits at input size (the
segmentor's tensor output resized, as in 'whole' inference and in the ONNX graph);
``--mode train`` times MMEngine's ``train_step`` (data preprocessor, forward, loss,
backward, SGD step) with synthetic labels, ours with bf16 autocast for ``--dtype bf16``
(``AnyDeviceAmpOptimWrapper``). The differences (max abs, relative = max abs / max |ref|,
argmax agreement) are those of the logits for the same input (in train mode: train-mode
BN, same dropout seed; train mode also compares the total loss and every parameter's
gradient, relative = max abs diff over max abs gradient). ``--dataset`` instead runs both
over CONFIG's test set with ``--checkpoint`` and reports pixel agreement and both mIoUs.

``--dtype int8`` (``--backend onnxruntime`` or ``openvino``) quantizes the exported graph
on the fly as ``tools/quantize.py`` does (ONNX Runtime's ``quantize_static``, or NNCF),
calibrated on ``--calib-images`` generated demo scenes, and times the INT8 model; the
logit differences are then those of INT8 against the fp32 reference.

Prints progress, a table, and as its last line one JSON object.
"""
import argparse
import copy
import ctypes
import inspect
import json
import os
import os.path as osp
import resource
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # the plugin, uninstalled

import mmseg_psp_ext  # noqa: E402,F401  (registers the plugin)
from mmseg_psp_ext.utils.fast_inference import prepare_for_inference  # noqa: E402
from mmseg_psp_ext.utils.random_weights import randomise_weights  # noqa: E402
from mmengine.config import Config, ConfigDict  # noqa: E402
from mmengine.model import revert_sync_batchnorm  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.structures import PixelData  # noqa: E402
from mmseg.registry import MODELS, OPTIM_WRAPPERS  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402
from mmseg.utils import register_all_modules  # noqa: E402
from tqdm import tqdm  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Our registered names -> MMSegmentation's, and our arguments that theirs lack, with the
# values at which the two compute the same thing.
THEIR_TYPES = {'DilatedResNet': 'ResNetV1c', 'PPMHead': 'PSPHead', 'FCNAuxHead': 'FCNHead',
               'PSPEncoderDecoder': 'EncoderDecoder'}
OUR_ONLY_ARGS = {'DilatedResNet': {'deep_stem': True},
                 'PPMHead': {'pool_type': 'avg', 'reduce_dim': True, 'fast_bottleneck': None,
                             'fast_loss': None},
                 'FCNAuxHead': {'fast_loss': None}}


def log(msg: str) -> None:
    print(f'[benchmark {time.strftime("%H:%M:%S")}] {msg}', flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=osp.join(REPO, 'configs/pspnet_r50_ade20k.py'),
                        help='our model config (default: configs/pspnet_r50_ade20k.py)')
    parser.add_argument('--mode', choices=['infer', 'train'], default='infer')
    parser.add_argument('--dtype', choices=['fp32', 'bf16', 'fp16', 'int8'], default='fp32',
                        help='our precision (the reference is always fp32); fp16: CUDA '
                        'only; int8: --backend onnxruntime/openvino, quantized on the fly')
    parser.add_argument('--calib-images', type=int, default=10,
                        help='--dtype int8: generated scenes to calibrate on (default 10)')
    parser.add_argument('--float-layers', nargs='*', default=['decode_head.conv_seg'],
                        metavar='PREFIX', help='--dtype int8: module prefixes kept in float '
                        '(default: the classifier, as tools/quantize.py)')
    parser.add_argument('--backend', choices=['eager', 'onnxruntime', 'openvino'],
                        default='eager', help='how ours runs (infer mode)')
    parser.add_argument('--size', type=int, default=512, help='square input side')
    parser.add_argument('--batch', type=int, default=None,
                        help='images per step (default: 1 infer, 2 train)')
    parser.add_argument('--iters', type=int, default=10, help='timed runs of each model')
    parser.add_argument('--warmup', type=int, default=1,
                        help='untimed runs of each before timing, besides the runs that '
                        'measure the differences and the step memory')
    parser.add_argument('--fuse-conv-bn', action='store_true',
                        help='fold BN into convs in ours (infer mode)')
    parser.add_argument('--channels-last', action='store_true', default=None,
                        help='channels_last in ours (default: on for bf16, off for fp32)')
    parser.add_argument('--compile', action='store_true',
                        help="torch.compile ours: train mode its train_step, as MMEngine's "
                        '`compile=True` does; infer mode its backbone and heads, as '
                        'tools/test.py --compile does')
    parser.add_argument('--checkpoint', help='weights for both models (default: random)')
    parser.add_argument('--dataset', action='store_true',
                        help="run over CONFIG's test set: pixel agreement and both mIoUs")
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=None,
                        help='intra-op threads (default: torch default)')
    args = parser.parse_args()
    if args.batch is None:
        args.batch = 2 if args.mode == 'train' else 1
    if args.compile and args.backend != 'eager':
        parser.error('--compile is for --backend eager')
    if args.mode == 'train' and (args.backend != 'eager' or args.fuse_conv_bn):
        parser.error('--mode train times eager PyTorch without BN folding; drop '
                     '--backend/--fuse-conv-bn')
    if args.dataset and (args.mode != 'infer' or args.backend != 'eager'):
        parser.error('--dataset is for --mode infer --backend eager')
    if args.dtype == 'fp16' and not args.device.startswith('cuda'):
        parser.error('--dtype fp16 needs a CUDA --device; use bf16 on the CPU')
    if args.dtype == 'int8' and args.backend == 'eager':
        parser.error('--dtype int8 needs --backend onnxruntime or openvino')
    if args.backend == 'onnxruntime' and args.dtype not in ('fp32', 'int8'):
        parser.error('--backend onnxruntime runs fp32 or int8 only here; bf16: openvino or '
                     'eager')
    return args


# ----------------------------------------------------------------------------- models
def _bn(node):
    if isinstance(node, dict):
        return {k: ('BN' if k == 'type' and v == 'SyncBN' else _bn(v)) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(_bn(v) for v in node)
    return node


def our_model_cfg(cfg: Config) -> dict:
    """CONFIG's model with BN for SyncBN and nothing to download."""
    model = _bn(cfg.to_dict()['model'])
    model['pretrained'] = None
    model['backbone']['init_cfg'] = None
    return model


def reference_model_cfg(model: dict) -> dict:
    """Our model config in MMSegmentation's module names; error if it has no equivalent."""
    model = copy.deepcopy(model)
    for key in ('backbone', 'decode_head', 'auxiliary_head'):
        node = model.get(key)
        if not node:
            continue
        ours = node['type']
        if ours in THEIR_TYPES:  # our defaults may differ from theirs: state them
            for arg, param in inspect.signature(MODELS.get(ours).__init__).parameters.items():
                if param.default is not inspect.Parameter.empty:
                    node.setdefault(arg, param.default)
        for arg, neutral in OUR_ONLY_ARGS.get(ours, {}).items():
            if arg in node:
                value = node.pop(arg)
                if neutral is not None and value != neutral:
                    raise SystemExit(f'benchmark.py: {key}.{arg}={value!r} has no '
                                     "MMSegmentation equivalent (needs "
                                     f'{neutral!r})')
        node['type'] = THEIR_TYPES.get(ours, ours)
        if ours == 'FCNAuxHead':
            node['concat_input'] = False
    if model['type'] == 'PSPEncoderDecoder' and model['test_cfg'].get('mode') not in (
            'whole', 'slide'):
        model['test_cfg'] = dict(mode='whole')  # timing and logits use _forward anyway
    model['type'] = THEIR_TYPES.get(model['type'], model['type'])
    return model



def build_pair(args: argparse.Namespace, cfg: Config) -> Tuple[torch.nn.Module, torch.nn.Module]:
    model_cfg = our_model_cfg(cfg)
    if model_cfg.get('data_preprocessor', {}).get('size'):
        model_cfg['data_preprocessor']['size'] = (args.size, args.size)  # no padding
    ours = revert_sync_batchnorm(MODELS.build(ConfigDict(model_cfg)))
    reference = revert_sync_batchnorm(MODELS.build(ConfigDict(reference_model_cfg(model_cfg))))
    if args.checkpoint:
        from mmengine.runner import load_checkpoint
        load_checkpoint(ours, args.checkpoint, map_location='cpu', strict=True)
    else:
        randomise_weights(ours)
    reference.load_state_dict(ours.state_dict(), strict=True)
    return ours.to(args.device), reference.to(args.device)


# ----------------------------------------------------------------------------- memory
def _libc():
    try:
        libc = ctypes.CDLL('libc.so.6')
        # Fixed mmap threshold (disables glibc's dynamic raise), so that freed activations
        # go back to the OS and each model's step peak is measured from the same floor.
        libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD
        return libc
    except OSError:
        return None


def _status_kb(key: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    return 0


def step_peak_mb(run: Callable[[], object], libc) -> float:
    """Peak RSS growth of one call (Linux: VmHWM reset through /proc/self/clear_refs)."""
    if libc is not None:
        libc.malloc_trim(0)
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        return float('nan')
    floor = _status_kb('VmRSS:')
    run()
    return (_status_kb('VmHWM:') - floor) / 1024


# ----------------------------------------------------------------------------- steps
def logits_fn(model: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    align = bool(getattr(model.decode_head, 'align_corners', False))

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            out = model(x, mode='tensor')
            return F.interpolate(out.float(), size=x.shape[2:], mode='bilinear',
                                 align_corners=align)

    return run


def our_infer_fn(args, ours, tmpdir) -> Callable[[torch.Tensor], torch.Tensor]:
    if args.backend == 'eager':
        prepare_for_inference(ours, args.fuse_conv_bn, args.channels_last, args.dtype,
                              compile=args.compile)
        return logits_fn(ours)
    from mmseg_psp_ext.deploy import build_backend, export_onnx
    if args.fuse_conv_bn:
        prepare_for_inference(ours, fuse_conv_bn=True)
    onnx_file = osp.join(tmpdir, 'model.onnx')
    log(f'exporting ours to ONNX ({args.size}x{args.size}) ...')
    start = time.perf_counter()
    export_onnx(ours.eval(), onnx_file, size=(args.size, args.size))
    log(f'exported in {time.perf_counter() - start:.0f} s; building {args.backend} '
        f'({args.dtype})')
    precision = args.dtype
    if args.dtype == 'int8':
        onnx_file = int8_model(args, ours, onnx_file, tmpdir)
        precision = 'fp32'  # the ops left in float run in f32
    backend = build_backend(args.backend, onnx_file, precision=precision,
                            num_threads=args.threads)
    return lambda x: torch.from_numpy(np.asarray(backend(x.cpu().numpy())))


def int8_model(args, ours, onnx_file: str, tmpdir: str) -> str:
    """Quantizes ``onnx_file`` on generated scenes, as tools/quantize.py does."""
    from mmseg_psp_ext.deploy.calibration import generated_scene_inputs
    from mmseg_psp_ext.deploy.quantization import conv_layers, nodes_in_scope, quantize
    out = osp.join(tmpdir, 'int8.xml' if args.backend == 'openvino' else 'int8.onnx')
    inputs = generated_scene_inputs(ours, args.calib_images, args.size)
    start = time.perf_counter()
    quantize(args.backend, onnx_file, inputs, len(inputs), out,
             float_nodes=nodes_in_scope(conv_layers(onnx_file), args.float_layers))
    log(f'quantized to INT8 on {len(inputs)} generated scenes in '
        f'{time.perf_counter() - start:.0f} s (in float: '
        f'{", ".join(args.float_layers) or "MatMul ops only"})')
    return out


def train_data(args, num_classes: int) -> dict:
    gen = torch.Generator().manual_seed(1)
    size = args.size
    inputs, samples = [], []
    for _ in range(args.batch):
        inputs.append(torch.randint(0, 256, (3, size, size), generator=gen, dtype=torch.uint8))
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, size, size), generator=gen))
        sample.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size),
                                 pad_shape=(size, size)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def train_step_fn(model, wrapper_cfg: dict, data: dict) -> Callable[[], None]:
    model.train()
    wrapper = OPTIM_WRAPPERS.build(dict(
        wrapper_cfg, optimizer=torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9,
                                               weight_decay=5e-4)))
    return lambda: model.train_step(data, wrapper)


def difference(ours: torch.Tensor, ref: torch.Tensor) -> Dict[str, float]:
    abs_diff = float((ours.float() - ref).abs().max())
    return dict(max_abs_diff=abs_diff, relative_diff=abs_diff / float(ref.abs().max()),
                pixel_agreement=float((ours.argmax(1) == ref.argmax(1)).float().mean()))


def train_difference(args, ours, reference, x, data) -> Dict[str, float]:
    """Train-mode logits (batch-statistics BN, the same dropout draw), loss and gradients."""
    outs, losses, grads = [], [], []
    for model in (ours, reference):
        model.train()
        autocast = dict(device_type=x.device.type, dtype=torch.bfloat16,
                        enabled=model is ours and args.dtype == 'bf16')
        torch.manual_seed(0)
        with torch.no_grad(), torch.autocast(**autocast):
            outs.append(model(x, mode='tensor').float())
        torch.manual_seed(0)
        with torch.autocast(**autocast):
            batch = model.data_preprocessor(data, True)
            total, _ = model.parse_losses(model(**batch, mode='loss'))
        total.backward()
        losses.append(float(total.detach()))
        grads.append({name: p.grad.clone() for name, p in model.named_parameters()
                      if p.grad is not None})
        model.zero_grad(set_to_none=True)
    if grads[0].keys() != grads[1].keys():
        raise SystemExit('benchmark.py: ours and the reference train different parameters: '
                         f'{sorted(grads[0].keys() ^ grads[1].keys())[:5]}')
    grad_diff = max(float((grads[0][k].float() - grads[1][k]).abs().max()) for k in grads[1])
    grad_max = max(float(g.abs().max()) for g in grads[1].values())
    return dict(difference(*outs), loss_ours=losses[0], loss_reference=losses[1],
                loss_relative_diff=abs(losses[0] - losses[1]) / abs(losses[1]),
                grad_relative_diff=grad_diff / grad_max)


def timed(fn: Callable[[], object], device: str) -> float:
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def alternate(runs: Dict[str, Callable[[], object]], args) -> Dict[str, List[float]]:
    for _ in tqdm(range(args.warmup), desc='warm-up', file=sys.stdout, disable=not args.warmup):
        for fn in runs.values():
            fn()
    times: Dict[str, List[float]] = {name: [] for name in runs}
    bar = tqdm(range(args.iters), desc='timing', file=sys.stdout)
    for _ in bar:  # alternate so that load changes hit both alike
        for name, fn in runs.items():
            times[name].append(timed(fn, args.device))
        bar.set_postfix({k: f'{statistics.median(v):.2f}s' for k, v in times.items()})
    return times


# ----------------------------------------------------------------------------- dataset
def dataset_agreement(args, cfg, ours, reference) -> dict:
    """Ours (prepared) and the reference over CONFIG's test set: agreement and mIoUs."""
    from mmengine.evaluator import Evaluator
    from mmengine.runner import Runner
    if not args.checkpoint:
        raise SystemExit('benchmark.py: --dataset needs --checkpoint (random weights say '
                         'nothing about accuracy)')
    loader = Runner.build_dataloader(cfg.test_dataloader)
    evaluators = {name: Evaluator(copy.deepcopy(cfg.test_evaluator)) for name in ('ours',
                                                                                  'reference')}
    for evaluator in evaluators.values():
        evaluator.dataset_meta = loader.dataset.metainfo
    prepare_for_inference(ours, args.fuse_conv_bn, args.channels_last, args.dtype)
    reference.eval()
    same = total = 0
    max_abs = max_ref = 0.
    times = {'ours': [], 'reference': []}
    for data in tqdm(loader, desc='test set', file=sys.stdout):
        preds = {}
        for name, model in (('ours', ours), ('reference', reference)):
            with torch.no_grad():
                start = time.perf_counter()
                preds[name] = model.test_step(copy.deepcopy(data))
                times[name].append(time.perf_counter() - start)
            evaluators[name].process(preds[name], data)
        for a, b in zip(preds['ours'], preds['reference']):
            same += int((a.pred_sem_seg.data == b.pred_sem_seg.data).sum())
            total += a.pred_sem_seg.data.numel()
            max_abs = max(max_abs, float((a.seg_logits.data - b.seg_logits.data).abs().max()))
            max_ref = max(max_ref, float(b.seg_logits.data.abs().max()))
    metrics = {name: e.evaluate(len(loader.dataset)) for name, e in evaluators.items()}
    return dict(max_abs_diff=max_abs, relative_diff=max_abs / max_ref,
                pixel_agreement=same / total, images=len(loader.dataset),
                miou_ours=float(metrics['ours']['mIoU']),
                miou_reference=float(metrics['reference']['mIoU']), times=times)


# ----------------------------------------------------------------------------- main
def main() -> None:
    mmseg_psp_ext.quiet_framework_logs()  # known-harmless framework warnings, see the docs
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    register_all_modules()
    init_default_scope('mmseg')
    cfg = Config.fromfile(args.config)
    log(f'config {args.config}; mode {args.mode}, ours {args.backend} {args.dtype}'
        f'{" fused" if args.fuse_conv_bn else ""}{" compiled" if args.compile else ""}, '
        'reference MMSegmentation eager fp32; '
        f'{args.batch}x3x{args.size}x{args.size} on {args.device}, '
        f'{torch.get_num_threads()} threads')
    ours, reference = build_pair(args, cfg)
    fast = getattr(ours.decode_head, 'fast_bottleneck', None)
    log(f'built ours ({type(ours.decode_head).__name__}, fast_bottleneck={fast}) and the '
        f'reference ({type(reference.decode_head).__name__}); weights '
        f'{args.checkpoint or "random"}, loaded strictly into the reference')
    result = dict(mode=args.mode, device=args.device, dtype=args.dtype, backend=args.backend)

    if args.dataset:
        found = dataset_agreement(args, cfg, ours, reference)
        med = {k: statistics.median(v) for k, v in found.pop('times').items()}
        result.update(ours=1 / med['ours'], reference=1 / med['reference'],
                      speedup=med['reference'] / med['ours'], **found)
        print(f"\n{found['images']} test images of {args.config}\n"
              f"  pixel agreement ours {args.dtype} vs reference fp32: "
              f"{100 * found['pixel_agreement']:.3f}%\n"
              f"  mIoU ours {found['miou_ours']:.2f}, reference {found['miou_reference']:.2f}"
              f" (change {found['miou_ours'] - found['miou_reference']:+.2f})")
        result['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return

    x = torch.randn(args.batch, 3, args.size, args.size,
                    generator=torch.Generator().manual_seed(0)).to(args.device)
    with tempfile.TemporaryDirectory() as tmpdir:
        if args.mode == 'infer':
            ref_fn = logits_fn(reference.eval())
            our_fn = our_infer_fn(args, ours, tmpdir)
            result.update(difference(our_fn(x), ref_fn(x)))
            runs = {'ours': lambda: our_fn(x), 'reference': lambda: ref_fn(x)}
        else:
            data = train_data(args, ours.decode_head.num_classes)
            result.update(train_difference(args, ours, reference, x, data))
            wrapper = dict(type='OptimWrapper') if args.dtype == 'fp32' else dict(
                type='AnyDeviceAmpOptimWrapper',
                dtype='bfloat16' if args.dtype == 'bf16' else 'float16')
            if args.compile:  # what MMEngine's Runner does with compile=True
                ours.train_step = torch.compile(ours.train_step)
            runs = {'ours': train_step_fn(ours, wrapper, data),
                    'reference': train_step_fn(reference, dict(type='OptimWrapper'), data)}
        log(f"logits: max abs diff {result['max_abs_diff']:.3g}, relative "
            f"{result['relative_diff']:.3g}, argmax agreement "
            f"{100 * result['pixel_agreement']:.3f}%")
        if args.mode == 'train':
            log(f"loss: ours {result['loss_ours']:.6f}, reference {result['loss_reference']:.6f} "
                f"(relative {result['loss_relative_diff']:.3g}); gradients: relative "
                f"{result['grad_relative_diff']:.3g}")
        times = alternate(runs, args)
        peak = {}
        if args.device == 'cpu':
            # After the timing: the fixed mmap threshold that makes the peaks comparable
            # also makes every large allocation a fresh mapping, which costs time.
            libc = _libc()
            for name, fn in runs.items():
                peak[name] = step_peak_mb(fn, libc)
            log(f"step peak memory: ours {peak['ours']:.0f} MB, reference "
                f"{peak['reference']:.0f} MB")
    med = {k: statistics.median(v) for k, v in times.items()}
    ips = {k: args.batch / v for k, v in med.items()}
    result.update(ours=ips['ours'], reference=ips['reference'],
                  speedup=med['reference'] / med['ours'])
    result['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if peak:
        result.update(step_peak_mb_ours=peak['ours'], step_peak_mb_reference=peak['reference'])

    what = 'training step' if args.mode == 'train' else 'inference'
    print(f'\nPSPNet {what}, {args.batch}x3x{args.size}x{args.size}, {args.device}, '
          f'{torch.get_num_threads()} threads, median of {args.iters} alternating runs')
    print(f"{'':28}{'ms/step':>10}{'img/s':>9}{'min ms':>9}{'step peak MB':>14}")
    rows = (('ours ' + ' '.join([args.backend, args.dtype] +
                                (['fused'] if args.fuse_conv_bn else []) +
                                (['compiled'] if args.compile else [])), 'ours'),
            ('MMSegmentation eager fp32', 'reference'))
    for label, key in rows:
        print(f'{label:28}{med[key] * 1000:10.1f}{ips[key]:9.3f}{min(times[key]) * 1000:9.1f}'
              f"{peak.get(key, float('nan')):14.0f}")
    print(f"speedup {result['speedup']:.3f}x; logits: max abs diff {result['max_abs_diff']:.3g}, "
          f"relative {result['relative_diff']:.3g}, argmax agreement "
          f"{100 * result['pixel_agreement']:.3f}%; peak RSS {result['peak_rss_mb']:.0f} MB")
    print(json.dumps(result))


if __name__ == '__main__':
    main()
