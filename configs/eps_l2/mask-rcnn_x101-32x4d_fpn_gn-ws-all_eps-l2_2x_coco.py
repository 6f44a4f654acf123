# Mask R-CNN X-101-32x4d-FPN, GN+WS everywhere (grouped WS convs), 2x,
# ε-shifted L2 with ε = 1e-3, λ = 1e-4.
_base_ = './mask-rcnn_r50_fpn_gn-ws-all_eps-l2_2x_coco.py'
model = dict(
    backbone=dict(
        type='ResNeXt',
        depth=101,
        groups=32,
        base_width=4,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='open-mmlab://jhu/resnext101_32x4d_gn_ws')))
optim_wrapper = dict(paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))
