# RetinaNet R-101-FPN, GN+WS everywhere, 1x, ε-shifted L2 with ε = 1e-6
# (the paper's ε for WS-ResNet-101), λ = 1e-4.
_base_ = './retinanet_r50_fpn_gn-ws-all_eps-l2_1x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://jhu/resnet101_gn_ws')))
optim_wrapper = dict(paramwise_cfg=dict(eps_l2=dict(eps=1e-6)))
