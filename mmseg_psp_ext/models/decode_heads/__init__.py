from .fcn_aux_head import FCNAuxHead
from .ppm_head import PPMHead
from .pyramid_pooling import PyramidPooling

__all__ = ['FCNAuxHead', 'PPMHead', 'PyramidPooling']
