"""Converts the authors' Caffe PSPNet (.caffemodel) to this plugin's layout, without Caffe.

    python tools/convert_caffe.py pspnet50_ADE20K.caffemodel checkpoints/pspnet50_ADE20K.pth

The stride placement (--style) is read off the file when it stores it, else taken from
the published model of the same file name, and the output is checked against the matching
configs/converted/pspnet{depth}_{dataset}_caffe.py (or --config).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg_psp_ext.converters import (KNOWN_MODELS, check_against_config,  # noqa: E402
                                      convert_caffe_layers, read_caffemodel, save_checkpoint)

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', 'converted')
DATASET_BY_CLASSES = {150: 'ade20k', 21: 'voc12', 19: 'cityscapes'}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='.caffemodel file')
    parser.add_argument('dst', help='output .pth ({meta, state_dict})')
    parser.add_argument('--config', help='config to check against (default: '
                        'configs/converted/pspnet{depth}_{dataset}_caffe.py)')
    parser.add_argument('--no-check', action='store_true', help='skip the config check')
    args = parser.parse_args()

    state_dict, info = convert_caffe_layers(read_caffemodel(args.src))
    stem = osp.splitext(osp.basename(args.src))[0]
    known = KNOWN_MODELS.get(stem, {})
    if info['style'] is None:
        info['style'] = known.get('style')
    elif known and known['style'] != info['style']:
        print(f'warning: {args.src} stores its stage-3 stride as style={info["style"]!r}, '
              f'the published {stem} is {known["style"]!r}; using the file')
    if info['bn_eps'] - {1e-5}:
        print(f"warning: {args.src} stores BN eps {sorted(info['bn_eps'])}; "
              "the configs use 1e-5")
    if not args.no_check:
        config = args.config
        if config is None:
            dataset = DATASET_BY_CLASSES.get(info['num_classes'])
            if dataset is None:
                sys.exit(f'{args.src}: {info["num_classes"]} classes fit no published model '
                         '(150/21/19); pass --config or --no-check')
            config = osp.join(CONFIG_DIR, f'pspnet{info["depth"]}_{dataset}_caffe.py')
        check_against_config(state_dict, config, source=args.src)
        _check_style(config, info['style'])
        print(f'checked against {config}')
    info['bn_eps'] = sorted(info['bn_eps'])
    save_checkpoint(state_dict, args.dst, meta=dict(
        converted_from=osp.basename(args.src), source='hszhao/PSPNet (Caffe)', **info))
    print(f'{args.dst}: {len(state_dict)} tensors, depth {info["depth"]}, '
          f'{info["num_classes"]} classes, style {info["style"]}')


def _check_style(config: str, style) -> None:
    from mmengine.config import Config
    config_style = Config.fromfile(config).model.backbone.get('style', 'pytorch')
    if style is None:
        print(f'warning: stride placement unknown (not stored, unknown file name); '
              f'trusting {config}: style={config_style!r}')
    elif style != config_style:
        layer = 'conv3_1_1x1_reduce' if style == 'caffe' else 'conv3_1_3x3'
        sys.exit(f'{config} has backbone style={config_style!r} but the Caffe model puts the '
                 f'stage-3 stride in {layer} (style={style!r}): the converted model would '
                 'compute something else')


if __name__ == '__main__':
    main()
