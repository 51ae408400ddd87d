"""Converts ImageNet ResNet weights to DilatedResNet backbone keys.

    # torchvision resnet50-*.pth -> DilatedResNet(deep_stem=False)
    python tools/convert_torchvision.py resnet50-0676ba61.pth checkpoints/resnet50_tv.pth
    # hszhao/semseg resnet50_v2.pth (deep stem) -> DilatedResNet(stem_channels=128)
    python tools/convert_torchvision.py --semseg resnet50_v2.pth checkpoints/resnet50_v2.pth

Use the output as ``backbone.init_cfg=dict(type='Pretrained', checkpoint=DST)``
(keys without prefix), or with ``--prefix backbone.`` as ``load_from``.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg_psp_ext.converters import (add_prefix, convert_semseg_resnet,  # noqa: E402
                                      convert_torchvision_resnet, load_torch_checkpoint,
                                      save_checkpoint)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='ImageNet ResNet state dict')
    parser.add_argument('dst', help='output .pth ({meta, state_dict})')
    parser.add_argument('--semseg', action='store_true',
                        help="the source is hszhao/semseg's deep-stem resnet*_v2.pth")
    parser.add_argument('--prefix', default='', help="prepended to every key, e.g. 'backbone.'")
    args = parser.parse_args()
    checkpoint = load_torch_checkpoint(args.src)
    convert = convert_semseg_resnet if args.semseg else convert_torchvision_resnet
    state_dict = add_prefix(convert(checkpoint), args.prefix)
    save_checkpoint(state_dict, args.dst, meta=dict(
        converted_from=osp.basename(args.src),
        source='hszhao/semseg ImageNet ResNet' if args.semseg else 'torchvision ResNet'))
    print(f'{args.dst}: {len(state_dict)} tensors')


if __name__ == '__main__':
    main()
