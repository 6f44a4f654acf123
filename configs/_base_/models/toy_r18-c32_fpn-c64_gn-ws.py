# The small GN+WS trunk of the toy detectors: ResNet-18 with 32 base
# channels (trained from scratch) and an FPN of 64 channels, WSConv2d and
# GN(8) everywhere.  Used as whole values:
#   backbone={{_base_.toy_backbone}}, neck={{_base_.toy_neck}} (Mask R-CNN)
#   or neck={{_base_.toy_neck_from_c3}} (RetinaNet), and
#   conv_cfg={{_base_.ws_conv_cfg}}, norm_cfg={{_base_.gn_norm_cfg}} in heads
ws_conv_cfg = dict(type='WSConv2d')
gn_norm_cfg = dict(type='GN', num_groups=8, requires_grad=True)
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
