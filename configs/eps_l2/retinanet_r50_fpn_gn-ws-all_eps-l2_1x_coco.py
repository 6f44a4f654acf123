# RetinaNet R-50-FPN with GN + weight-standardized convs in the backbone,
# the FPN and both head towers (mmdet ships no GN+WS RetinaNet), 1x,
# ε-shifted L2 with ε = 1e-3, λ = weight_decay = 1e-4.
_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    '../_base_/gn-ws_convs.py',
    '../_base_/eps-l2_plugin.py',
]
model = {{_base_.gn_ws_retinanet}}  # WSConv2d + GN(32), jhu R-50 GN+WS init
custom_hooks = [*_base_.get('custom_hooks', []), *_base_.eps_l2_hooks]
optim_wrapper = dict(
    constructor='EpsShiftedL2OptimWrapperConstructor',
    paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))
