"""Converts the authors' Caffe PSPNet (.caffemodel) to this plugin's layout, without Caffe.

    python tools/convert_caffe.py pspnet50_ADE20K.caffemodel checkpoints/pspnet50_ADE20K.pth

The stride placement is read off the file when it stores it, else taken from the published
model of the same file name, and the output is checked against the matching
configs/converted/pspnet{depth}_{dataset}_caffe.py (or --config): keys and shapes, stride
placement, and the BN eps and dilations when the file stores them. The file is read with the
field numbers of the authors' caffe.proto at HEAD (c479f4f) unless it stores fields that only
their first commit's numbering (88d0b3e) explains; --schema forces one.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg_psp_ext.converters import (KNOWN_MODELS, SCHEMAS,  # noqa: E402
                                      check_against_config, convert_caffe_layers,
                                      read_caffemodel, save_checkpoint)

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', 'converted')
DATASET_BY_CLASSES = {150: 'ade20k', 21: 'voc12', 19: 'cityscapes'}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='.caffemodel file')
    parser.add_argument('dst', help='output .pth ({meta, state_dict})')
    parser.add_argument('--config', help='config to check against (default: '
                        'configs/converted/pspnet{depth}_{dataset}_caffe.py)')
    parser.add_argument('--no-check', action='store_true', help='skip the config check')
    parser.add_argument('--schema', choices=('auto', ) + SCHEMAS, default='auto',
                        help="field numbering of the authors' caffe.proto: HEAD (c479f4f) "
                        'or the first commit (88d0b3e); default: detected')
    args = parser.parse_args()

    try:
        state_dict, info = convert_caffe_layers(read_caffemodel(args.src, schema=args.schema))
    except ValueError as err:
        sys.exit(f'{args.src}: {err}' if args.src not in str(err) else str(err))
    stem = osp.splitext(osp.basename(args.src))[0]
    known = KNOWN_MODELS.get(stem, {})
    if info['style'] is None:
        info['style'] = known.get('style')
    elif known and known['style'] != info['style']:
        print(f'warning: {args.src} stores its stage-3 stride as style={info["style"]!r}, '
              f'the published {stem} is {known["style"]!r}; using the file')
    if info['bn_eps'] - {1e-5}:
        print(f"warning: {args.src} stores BN eps {sorted(info['bn_eps'])}; "
              "the shipped configs use 1e-5")
    if not args.no_check:
        config = args.config
        if config is None:
            dataset = DATASET_BY_CLASSES.get(info['num_classes'])
            if dataset is None:
                sys.exit(f'{args.src}: {info["num_classes"]} classes fit no published model '
                         '(150/21/19); pass --config or --no-check')
            config = osp.join(CONFIG_DIR, f'pspnet{info["depth"]}_{dataset}_caffe.py')
        check_against_config(state_dict, config, source=args.src)
        _check_model_settings(config, info)
        print(f'checked against {config}')
    info['bn_eps'] = sorted(info['bn_eps'])
    save_checkpoint(state_dict, args.dst, meta=dict(
        converted_from=osp.basename(args.src), source='hszhao/PSPNet (Caffe)', **info))
    print(f'{args.dst}: {len(state_dict)} tensors, depth {info["depth"]}, '
          f'{info["num_classes"]} classes, style {info["style"]}, BN eps {info["bn_eps"]}, '
          f'dilations {info["dilations"]}, crop {info["crop_size"]}, '
          f'caffe.proto {info["caffe_schema"]}')


def _check_model_settings(config: str, info: dict) -> None:
    """Stops when the config would compute something else than the Caffe net."""
    from mmengine.config import Config
    model = Config.fromfile(config).model
    backbone = model.backbone
    config_style = backbone.get('style', 'pytorch')
    style = info['style']
    if style is None:
        print(f'warning: stride placement unknown (not stored, unknown file name); '
              f'trusting {config}: style={config_style!r}')
    elif style != config_style:
        layer = 'conv3_1_1x1_reduce' if style == 'caffe' else 'conv3_1_3x3'
        sys.exit(f'{config} has backbone style={config_style!r} but the Caffe model puts the '
                 f'stage-3 stride in {layer} (style={style!r}): the converted model would '
                 'compute something else')
    if info['dilations'] is not None:
        config_dilations = tuple(backbone.get('dilations', (1, 1, 1, 1)))
        config_contract = backbone.get('contract_dilation', False)
        if (config_dilations != tuple(info['dilations'])
                or bool(config_contract) != info['contract_dilation']):
            sys.exit(f'{config} has backbone dilations={config_dilations}, '
                     f'contract_dilation={config_contract} but the Caffe model dilates its '
                     f'stages by {tuple(info["dilations"])}, contract_dilation='
                     f'{info["contract_dilation"]}')
    if info['bn_eps']:
        for where, module in (('backbone', backbone), ('decode_head', model.decode_head)):
            eps = (module.get('norm_cfg') or {}).get('eps', 1e-5)
            if {float(f'{eps:.7g}')} != set(info['bn_eps']):
                sys.exit(f"{config}: {where}.norm_cfg has eps={eps} but the Caffe model's BN "
                         f"layers store eps {sorted(info['bn_eps'])}; set "
                         f"norm_cfg=dict(..., eps={sorted(info['bn_eps'])[0]}) in the config")
    crop = (model.get('test_cfg') or {}).get('crop_size')
    if info['crop_size'] and crop and tuple(crop) != (info['crop_size'], ) * 2:
        print(f"warning: the Caffe net was built for {info['crop_size']}x{info['crop_size']} "
              f'inputs (its Interp layers), {config} tests with crop_size={tuple(crop)}')


if __name__ == '__main__':
    main()
