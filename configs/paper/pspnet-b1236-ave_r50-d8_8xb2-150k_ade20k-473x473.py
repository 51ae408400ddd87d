"""PSPNet-R50 on ADE20K, Table 1 "+B1236+AVE": pool_scales=(1, 2, 3, 6), avg pooling, DR False."""
_base_ = './pspnet_r50-d8_8xb2-150k_ade20k-473x473.py'
model = dict(decode_head=dict(pool_scales=(1, 2, 3, 6), pool_type='avg', reduce_dim=False))
