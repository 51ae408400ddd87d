from .psp_encoder_decoder import PSPEncoderDecoder

__all__ = ['PSPEncoderDecoder']
