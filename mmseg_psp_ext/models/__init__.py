from .backbones import DilatedResNet
from .decode_heads import FCNAuxHead, PPMHead

__all__ = ['DilatedResNet', 'FCNAuxHead', 'PPMHead']
