"""Mixed-precision training on CUDA (fp16/bf16) and on the CPU (bf16).

MMEngine's ``AmpOptimWrapper`` asserts a GPU (or NPU/MLU/MUSA) in its constructor, in
mmengine 0.10.7 and onedl-mmengine 0.10.12 alike, so ``--amp`` or an AMP config stops a
CPU run. :class:`AnyDeviceAmpOptimWrapper` is that wrapper where an accelerator is present,
and on the CPU autocasts to bfloat16 without loss scaling: bfloat16 has float32's exponent
range, so gradients do not underflow and scaling would only cost time.

    optim_wrapper = dict(type='AnyDeviceAmpOptimWrapper', dtype='bfloat16',
                         optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
"""
from contextlib import contextmanager
from typing import Optional, Union

import torch
from mmengine.device import get_device
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.runner.amp import autocast
from mmseg.registry import OPTIM_WRAPPERS
from torch import nn


@OPTIM_WRAPPERS.register_module()
class AnyDeviceAmpOptimWrapper(AmpOptimWrapper):
    """MMEngine's ``AmpOptimWrapper`` on accelerators, bfloat16 autocast on the CPU.

    Args:
        loss_scale (float | str | dict): As MMEngine's ``AmpOptimWrapper`` (an accelerator
            only; ignored on the CPU). Defaults to ``'dynamic'``.
        dtype (str | torch.dtype, optional): The autocast dtype. None means float16 on
            CUDA (MMEngine's default) and bfloat16 on the CPU. On the CPU only
            ``'bfloat16'`` is accepted. Defaults to None.
        **kwargs: Passed to ``OptimWrapper`` (``optimizer``, ``clip_grad``,
            ``accumulative_counts``).
    """

    def __init__(self,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Optional[Union[str, torch.dtype]] = None,
                 **kwargs) -> None:
        self.device_type = get_device()
        if self.device_type != 'cpu':
            super().__init__(loss_scale=loss_scale, dtype=dtype, **kwargs)
            return
        if isinstance(dtype, torch.dtype):
            dtype = str(dtype).replace('torch.', '')
        if dtype not in (None, 'bfloat16'):
            raise ValueError(f'AnyDeviceAmpOptimWrapper: dtype={dtype!r} on the CPU; only '
                             "'bfloat16' is supported there (float16 needs a GPU)")
        OptimWrapper.__init__(self, **kwargs)  # skips AmpOptimWrapper's GPU assertion
        self.cast_dtype = torch.bfloat16
        self.loss_scaler = None
        self._scale_update_param = None

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        """Back-propagates, through the loss scaler on accelerators."""
        if self.loss_scaler is None:
            OptimWrapper.backward(self, loss, **kwargs)
        else:
            super().backward(loss, **kwargs)

    def step(self, **kwargs) -> None:
        """Updates the parameters, through the loss scaler on accelerators."""
        if self.loss_scaler is None:
            OptimWrapper.step(self, **kwargs)
        else:
            super().step(**kwargs)

    def state_dict(self) -> dict:
        """The optimizer's state, plus the loss scaler's on accelerators."""
        if self.loss_scaler is None:
            return OptimWrapper.state_dict(self)
        return super().state_dict()

    def load_state_dict(self, state_dict: dict) -> None:
        """Loads a state saved on either device (a CPU run ignores the loss scaler)."""
        if self.loss_scaler is None:
            state_dict = dict(state_dict)
            state_dict.pop('loss_scaler', None)
            if 'base_param_settings' in state_dict:
                self.base_param_settings = state_dict.pop('base_param_settings')
            self.optimizer.load_state_dict(state_dict)
        else:
            super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Autocasts the forward pass to ``cast_dtype`` on the wrapper's device."""
        with OptimWrapper.optim_context(self, model), autocast(
                device_type=self.device_type, dtype=self.cast_dtype):
            yield
