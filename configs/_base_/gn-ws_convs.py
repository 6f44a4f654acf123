# GN + weight-standardized conv settings for mmdet models.
#
#   _base_ = ['mmdet::...', 'mmdet_eps_l2::_base_/gn-ws_convs.py']
#   model = {{_base_.gn_ws_mask_rcnn}}        # or gn_ws_faster_rcnn,
#                                             #    gn_ws_retinanet
#
# WSConv2d: per-filter (w - mean) / (unbiased std + 1e-5), mmcv ConvWS's
# convention, so the open-mmlab://jhu/*_gn_ws checkpoints load unchanged.
# The backbones start from the GN+WS ResNet-50 ImageNet weights; for other
# depths override model.backbone.init_cfg (open-mmlab://jhu/resnet101_gn_ws,
# .../resnext101_32x4d_gn_ws, ...).
ws_conv_cfg = dict(type='WSConv2d')
gn_norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
gn_ws_backbone = dict(
    conv_cfg=ws_conv_cfg,
    norm_cfg=gn_norm_cfg,
    init_cfg=dict(
        type='Pretrained', checkpoint='open-mmlab://jhu/resnet50_gn_ws'))

# backbone, FPN and the 4-conv box head (mmdet's gn+ws layout)
gn_ws_faster_rcnn = dict(
    backbone=gn_ws_backbone,
    neck=dict(conv_cfg=ws_conv_cfg, norm_cfg=gn_norm_cfg),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            conv_cfg=ws_conv_cfg,
            norm_cfg=gn_norm_cfg)))

# ... plus the FCN mask head
gn_ws_mask_rcnn = dict(
    backbone=gn_ws_backbone,
    neck=gn_ws_faster_rcnn['neck'],
    roi_head=dict(
        bbox_head=gn_ws_faster_rcnn['roi_head']['bbox_head'],
        mask_head=dict(conv_cfg=ws_conv_cfg, norm_cfg=gn_norm_cfg)))

# backbone, FPN and both towers of the RetinaNet head
gn_ws_retinanet = dict(
    backbone=gn_ws_backbone,
    neck=gn_ws_faster_rcnn['neck'],
    bbox_head=dict(conv_cfg=ws_conv_cfg, norm_cfg=gn_norm_cfg))
