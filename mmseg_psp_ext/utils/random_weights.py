"""Random weights for parity checks and benchmarks of untrained models."""
import torch


def randomise_weights(model: torch.nn.Module, seed: int = 0) -> None:
    """Fills every float tensor of the state dict with seeded random values.

    Convolutions get He-normal weights, BN scales and variances values in [0.5, 1.5),
    biases and means small normal values, so that no layer is an identity by accident and
    the logits of a deep net stay finite.

    Args:
        model (torch.nn.Module): The model, changed in place.
        seed (int): Seed of the generator. Two models with the same state-dict keys and
            shapes get the same values. Default: 0.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if name.endswith('running_var'):
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
            elif name.endswith(('running_mean', 'bias')):
                tensor.copy_(torch.randn(tensor.shape, generator=gen) * 0.1)
            elif tensor.dim() == 1:  # BN weight
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
            else:
                fan_in = tensor[0].numel()
                tensor.copy_(torch.randn(tensor.shape, generator=gen) * (2.0 / fan_in)**0.5)
