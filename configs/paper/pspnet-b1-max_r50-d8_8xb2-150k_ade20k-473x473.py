"""PSPNet-R50 on ADE20K, Table 1 "+B1+MAX": pool_scales=(1, ), max pooling, DR False."""
_base_ = './pspnet_r50-d8_8xb2-150k_ade20k-473x473.py'
model = dict(decode_head=dict(pool_scales=(1, ), pool_type='max', reduce_dim=False))
