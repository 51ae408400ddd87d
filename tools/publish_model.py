"""Prepares a trained checkpoint for release: weights and meta only, zoo-style file name.

    python tools/publish_model.py work_dirs/x/iter_80000.pth pspnet_r50-d8_ade20k
    # -> pspnet_r50-d8_ade20k_20260101-1a2b3c4d.pth  (date of today, sha256 prefix)

Optimizer, scheduler and message-hub state are dropped; the file is written atomically
and named after the sha256 of the bytes written.
"""
import argparse
import hashlib
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg_psp_ext.converters import save_atomic  # noqa: E402
from mmseg_psp_ext.engine import CheckpointError, load_weights_only  # noqa: E402

KEEP = ('meta', 'state_dict')


def sha256sum(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def publish(src: str, out_prefix: str) -> str:
    """Writes the slimmed checkpoint and returns its final path."""
    if not osp.isfile(src):
        raise FileNotFoundError(f'checkpoint not found: {src}')
    # weights_only=True with the allowlist of mmseg_psp_ext.compat (MMEngine's message
    # hub): a checkpoint passed between users must never run code when loaded.
    checkpoint = load_weights_only(src)
    if 'state_dict' not in checkpoint:
        raise ValueError(f"{src}: no 'state_dict' entry (keys: {sorted(checkpoint)})")
    slim = {k: checkpoint[k] for k in KEEP if k in checkpoint}
    tmp = f'{out_prefix}.publishing.pth'
    save_atomic(slim, tmp)
    final = f'{out_prefix}_{time.strftime("%Y%m%d")}-{sha256sum(tmp)[:8]}.pth'
    os.replace(tmp, final)
    return final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='checkpoint saved by the runner')
    parser.add_argument('out_prefix', help='output path without date, hash and .pth')
    args = parser.parse_args()
    try:
        print(publish(args.src, args.out_prefix))
    except (CheckpointError, FileNotFoundError, ValueError) as err:
        sys.exit(f'publish_model.py: {err}')


if __name__ == '__main__':
    main()
