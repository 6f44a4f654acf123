# The small GN+WS trunk of the toy detectors (as
# configs/_base_/models/toy_r18-c32_fpn-c64_gn-ws.py): ResNet-18 with 32 base
# channels, FPN of 64 channels, WSConv2d and GN(8) everywhere.
from torch.nn import GroupNorm

from mmdet_eps_l2.models.ws_conv import WSConv2d

ws_conv_cfg = dict(type=WSConv2d)
gn_norm_cfg = dict(type=GroupNorm, num_groups=8, requires_grad=True)
toy_backbone = dict(
    depth=18,
    base_channels=32,
    frozen_stages=-1,
    norm_eval=False,
    conv_cfg=ws_conv_cfg,
    norm_cfg=gn_norm_cfg,
    init_cfg=None)
toy_neck = dict(
    in_channels=[32, 64, 128, 256],
    out_channels=64,
    conv_cfg=ws_conv_cfg,
    norm_cfg=gn_norm_cfg)
toy_neck_from_c3 = dict(toy_neck, start_level=1)
