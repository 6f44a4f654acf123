# RetinaNet R-50-FPN with GN+WS in the backbone, the FPN and both head
# towers (mmdet ships no GN+WS RetinaNet), 1x, trained with the ε-shifted
# L2 regularizer on every WS conv weight.
_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    '../_base_/gn-ws_convs.py',
    '../_base_/eps-l2_plugin.py',
]
model = dict(
    backbone=dict(
        conv_cfg={{_base_.ws_conv_cfg}},
        norm_cfg={{_base_.gn_norm_cfg}},
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://jhu/resnet50_gn_ws')),
    neck=dict(conv_cfg={{_base_.ws_conv_cfg}}, norm_cfg={{_base_.gn_norm_cfg}}),
    bbox_head=dict(
        conv_cfg={{_base_.ws_conv_cfg}}, norm_cfg={{_base_.gn_norm_cfg}}))
optim_wrapper = dict(
    constructor='EpsShiftedL2OptimWrapperConstructor',
    paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))  # λ = weight_decay = 1e-4
