# Mask R-CNN X-101-32x4d-FPN, GN+WS everywhere, 2x,
# trained with the ε-shifted L2 regularizer on every WS conv weight.
_base_ = [
    'mmdet::gn+ws/mask-rcnn_x101-32x4d_fpn_gn-ws-all_2x_coco.py',
    '../_base_/gn-ws_convs.py',
    '../_base_/eps-l2_plugin.py',
]
model = {{_base_.gn_ws_mask_rcnn}}
optim_wrapper = dict(
    constructor='EpsShiftedL2OptimWrapperConstructor',
    paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))  # λ = weight_decay = 1e-4
