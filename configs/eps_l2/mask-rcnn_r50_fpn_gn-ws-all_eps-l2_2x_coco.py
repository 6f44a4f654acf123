# Mask R-CNN R-50-FPN with GN + weight-standardized convs in the backbone,
# the FPN and the box and mask heads (mmdet's gn+ws/mask-rcnn_r50_fpn_
# gn-ws-all_2x_coco: 40.6 box AP), 2x, with the ε-shifted L2 regularizer on
# every WS conv weight (ε = 1e-3, λ = weight_decay = 1e-4).
_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    '../_base_/gn-ws_convs.py',
    '../_base_/eps-l2_plugin.py',
]
model = {{_base_.gn_ws_mask_rcnn}}  # WSConv2d + GN(32), jhu R-50 GN+WS init
custom_hooks = [*_base_.get('custom_hooks', []), *_base_.eps_l2_hooks]

max_epochs = 24
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[16, 22],
        gamma=0.1)
]
optim_wrapper = dict(
    constructor='EpsShiftedL2OptimWrapperConstructor',
    paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))
