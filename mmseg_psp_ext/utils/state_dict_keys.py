"""How a state dict's keys and shapes differ from a model's."""
from typing import Iterable, List, Mapping, NamedTuple

import torch


class KeyDifferences(NamedTuple):
    """Keys of a checkpoint against a model's ``state_dict()``, in their own orders.

    Attributes:
        missing (list[str]): The model's keys the checkpoint lacks.
        unexpected (list[str]): The checkpoint's keys the model lacks.
        mismatched (list[str]): Keys in both whose shapes differ.
    """
    missing: List[str]
    unexpected: List[str]
    mismatched: List[str]


def key_differences(state_dict: Mapping[str, torch.Tensor],
                    reference: Mapping[str, torch.Tensor],
                    ignore_missing: Iterable[str] = ()) -> KeyDifferences:
    """Compares the keys and shapes of ``state_dict`` with those of ``reference``.

    Args:
        state_dict (Mapping[str, Tensor]): The checkpoint's weights.
        reference (Mapping[str, Tensor]): ``model.state_dict()`` of the target model.
        ignore_missing (Iterable[str]): Key suffixes that may be missing.

    Returns:
        KeyDifferences: Missing and mismatched keys in ``reference`` order, unexpected
        keys in ``state_dict`` order.
    """
    suffixes = tuple(ignore_missing)
    return KeyDifferences(
        missing=[k for k in reference
                 if k not in state_dict and not (suffixes and k.endswith(suffixes))],
        unexpected=[k for k in state_dict if k not in reference],
        mismatched=[k for k in reference if k in state_dict
                    and tuple(state_dict[k].shape) != tuple(reference[k].shape)])
