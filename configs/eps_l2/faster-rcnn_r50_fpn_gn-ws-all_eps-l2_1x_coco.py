# Faster R-CNN R-50-FPN with GN + weight-standardized convs in the backbone,
# the FPN and the 4-conv box head (mmdet's gn+ws/faster-rcnn_r50_fpn_
# gn-ws-all_1x_coco: 39.7 box AP), 1x, ε-shifted L2 with ε = 1e-3,
# λ = weight_decay = 1e-4.
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/gn-ws_convs.py',
    '../_base_/eps-l2_plugin.py',
]
model = {{_base_.gn_ws_faster_rcnn}}  # WSConv2d + GN(32), jhu R-50 GN+WS init
custom_hooks = [*_base_.get('custom_hooks', []), *_base_.eps_l2_hooks]
optim_wrapper = dict(
    constructor='EpsShiftedL2OptimWrapperConstructor',
    paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))
