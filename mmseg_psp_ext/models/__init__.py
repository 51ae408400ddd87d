from .backbones import DilatedResNet
from .decode_heads import FCNAuxHead, PPMHead
from .segmentors import PSPEncoderDecoder

__all__ = ['DilatedResNet', 'FCNAuxHead', 'PPMHead', 'PSPEncoderDecoder']
