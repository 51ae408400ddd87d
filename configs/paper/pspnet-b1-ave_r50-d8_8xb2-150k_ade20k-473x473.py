"""PSPNet-R50 on ADE20K, Table 1 "+B1+AVE": pool_scales=(1, ), avg pooling, DR False."""
_base_ = './pspnet_r50-d8_8xb2-150k_ade20k-473x473.py'
model = dict(decode_head=dict(pool_scales=(1, ), pool_type='avg', reduce_dim=False))
