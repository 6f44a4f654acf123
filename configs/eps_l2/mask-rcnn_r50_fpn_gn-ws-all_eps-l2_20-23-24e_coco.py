# Mask R-CNN R-50-FPN, GN+WS everywhere, 24 epochs with steps at 20 and 23,
# trained with the ε-shifted L2 regularizer on every WS conv weight.
_base_ = [
    'mmdet::gn+ws/mask-rcnn_r50_fpn_gn-ws-all_20-23-24e_coco.py',
    '../_base_/gn-ws_convs.py',
    '../_base_/eps-l2_plugin.py',
]
model = {{_base_.gn_ws_mask_rcnn}}
optim_wrapper = dict(
    constructor='EpsShiftedL2OptimWrapperConstructor',
    paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))  # λ = weight_decay = 1e-4
