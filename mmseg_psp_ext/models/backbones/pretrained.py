"""What to tell the user when the backbone's pretrained weights cannot be fetched."""
import os.path as osp
from typing import Optional
from urllib.parse import urlparse

import torch

_OPENMMLAB_PREFIXES = ('open-mmlab://', 'openmmlab://')


def resolve_checkpoint_url(checkpoint: str) -> Optional[str]:
    """The URL an ``open-mmlab://`` key or an http(s) checkpoint is downloaded from.

    Args:
        checkpoint (str): ``init_cfg['checkpoint']`` (or ``model.pretrained``).

    Returns:
        str | None: The URL, or None for local paths and keys this cannot resolve.
    """
    if checkpoint.startswith(('http://', 'https://')):
        return checkpoint
    for prefix in _OPENMMLAB_PREFIXES:
        if checkpoint.startswith(prefix):
            from mmengine.runner.checkpoint import (get_deprecated_model_names,
                                                    get_external_models)
            name = checkpoint[len(prefix):]
            name = get_deprecated_model_names().get(name, name)
            return get_external_models().get(name)
    return None


def pretrained_load_error(owner: str, checkpoint: str, err: BaseException) -> str:
    """A message that names the weights that failed to load and the settings that fix it.

    Args:
        owner (str): The module's name, e.g. ``'DilatedResNet'``.
        checkpoint (str): The checkpoint key, URL or path that failed.
        err (BaseException): The original error.

    Returns:
        str: The message.
    """
    url = resolve_checkpoint_url(checkpoint)
    lines = [f'{owner}: could not load the pretrained weights {checkpoint!r}'
             + (f' from {url}' if url and url != checkpoint else '')
             + f' ({type(err).__name__}: {err}).']
    if url is not None:
        cached = osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(urlparse(url).path))
        lines.append(f'Offline? Download {url} on a connected machine and either put it at '
                     f'{cached} (the download cache, used without a connection), or')
    else:
        lines.append('Either')
    lines.append(
        'set a local file: --cfg-options model.backbone.init_cfg.checkpoint=/path/to/'
        'weights.pth (configs that use model.pretrained: model.pretrained=/path/to/'
        'weights.pth); or train from scratch: --cfg-options model.backbone.init_cfg=None '
        '(model.pretrained=None).')
    return ' '.join(lines)
