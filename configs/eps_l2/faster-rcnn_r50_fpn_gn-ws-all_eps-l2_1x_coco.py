# Faster R-CNN R-50-FPN, GN+WS everywhere, 1x; mmdet's GN+WS baseline: 39.7 box AP,
# trained with the ε-shifted L2 regularizer on every WS conv weight.
_base_ = [
    'mmdet::gn+ws/faster-rcnn_r50_fpn_gn-ws-all_1x_coco.py',
    '../_base_/gn-ws_convs.py',
    '../_base_/eps-l2_plugin.py',
]
model = {{_base_.gn_ws_faster_rcnn}}
optim_wrapper = dict(
    constructor='EpsShiftedL2OptimWrapperConstructor',
    paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))  # λ = weight_decay = 1e-4
