"""Converts a hszhao/semseg PSPNet checkpoint to this plugin's (MMSegmentation's) layout.

    python tools/convert_semseg.py train_epoch_100.pth checkpoints/pspnet50_ade20k_semseg.pth

The output is checked, key by key and shape by shape, against the matching config in
configs/converted/ (chosen from the checkpoint's depth and class count, or --config).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg_psp_ext.converters import (check_against_config, convert_semseg_state_dict,  # noqa: E402
                                      describe_semseg_state_dict, extract_semseg_state_dict,
                                      load_torch_checkpoint, save_checkpoint)

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', 'converted')
DATASET_BY_CLASSES = {150: 'ade20k', 21: 'voc12', 19: 'cityscapes'}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='semseg checkpoint ({epoch, state_dict, optimizer})')
    parser.add_argument('dst', help='output .pth ({meta, state_dict})')
    parser.add_argument('--config', help='config to check against (default: '
                        'configs/converted/pspnet{depth}_{dataset}_semseg.py)')
    parser.add_argument('--no-check', action='store_true', help='skip the config check')
    args = parser.parse_args()

    source = extract_semseg_state_dict(load_torch_checkpoint(args.src))
    info = describe_semseg_state_dict(source)
    state_dict = convert_semseg_state_dict(source)
    if not args.no_check:
        config = args.config
        if config is None:
            dataset = DATASET_BY_CLASSES.get(info['num_classes'])
            if dataset is None:
                sys.exit(f'{args.src}: {info["num_classes"]} classes fit no published semseg '
                         'model (150/21/19); pass --config or --no-check')
            config = osp.join(CONFIG_DIR, f'pspnet{info["depth"]}_{dataset}_semseg.py')
        check_against_config(state_dict, config, source=args.src)
        print(f'checked against {config}')
    save_checkpoint(state_dict, args.dst, meta=dict(
        converted_from=osp.basename(args.src), source='hszhao/semseg', **info))
    print(f'{args.dst}: {len(state_dict)} tensors, depth {info["depth"]}, '
          f'{info["num_classes"]} classes, aux head {info["has_aux"]}')


if __name__ == '__main__':
    main()
