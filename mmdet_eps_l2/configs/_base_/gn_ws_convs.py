# GN + weight-standardized conv settings for mmdet models (as
# configs/_base_/gn-ws_convs.py); merge one into your model:
#     model.update(gn_ws_mask_rcnn)   # or gn_ws_faster_rcnn, gn_ws_retinanet
# WSConv2d: per-filter (w - mean) / (unbiased std + 1e-5), mmcv ConvWS's
# convention; the backbone starts from the GN+WS ResNet-50 ImageNet weights
# (gn_ws_init_resnet101 ... for other depths).
from mmdet.models.roi_heads.bbox_heads.convfc_bbox_head import \
    Shared4Conv1FCBBoxHead
from mmengine.model.weight_init import PretrainedInit
from torch.nn import GroupNorm

from mmdet_eps_l2.models.ws_conv import WSConv2d

ws_conv_cfg = dict(type=WSConv2d)
gn_norm_cfg = dict(type=GroupNorm, num_groups=32, requires_grad=True)
gn_ws_init_resnet50 = dict(
    type=PretrainedInit, checkpoint='open-mmlab://jhu/resnet50_gn_ws')
gn_ws_init_resnet101 = dict(
    type=PretrainedInit, checkpoint='open-mmlab://jhu/resnet101_gn_ws')
gn_ws_init_resnext101_32x4d = dict(
    type=PretrainedInit, checkpoint='open-mmlab://jhu/resnext101_32x4d_gn_ws')
gn_ws_backbone = dict(
    conv_cfg=ws_conv_cfg, norm_cfg=gn_norm_cfg, init_cfg=gn_ws_init_resnet50)
gn_ws_neck = dict(conv_cfg=ws_conv_cfg, norm_cfg=gn_norm_cfg)
gn_ws_faster_rcnn = dict(
    backbone=gn_ws_backbone,
    neck=gn_ws_neck,
    roi_head=dict(
        bbox_head=dict(
            type=Shared4Conv1FCBBoxHead,
            conv_out_channels=256,
            conv_cfg=ws_conv_cfg,
            norm_cfg=gn_norm_cfg)))
gn_ws_mask_rcnn = dict(
    backbone=gn_ws_backbone,
    neck=gn_ws_neck,
    roi_head=dict(
        bbox_head=gn_ws_faster_rcnn['roi_head']['bbox_head'],
        mask_head=dict(conv_cfg=ws_conv_cfg, norm_cfg=gn_norm_cfg)))
gn_ws_retinanet = dict(
    backbone=gn_ws_backbone,
    neck=gn_ws_neck,
    bbox_head=dict(conv_cfg=ws_conv_cfg, norm_cfg=gn_norm_cfg))
