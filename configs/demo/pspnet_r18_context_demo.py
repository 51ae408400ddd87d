"""PSPNet-R18-D8 (narrow, from scratch) on the generated context set: the `make demo` model.

    python tools/generate_context_demo.py data/context_demo
    mim train mmseg configs/demo/pspnet_r18_context_demo.py --work-dir work_dirs/demo

Same as configs/demo/fcn_r18_context_demo.py except the pyramid pooling bins.
"""
_base_ = ['./_base_/r18_d8_context_demo.py']
model = dict(decode_head=dict(pool_scales=(1, 2, 3, 6)))
