# Your own COCO-format instance data with the toy GN+WS Mask R-CNN
# (ResNet-18/32 trained from scratch, FPN 64, ε-shifted L2), as its
# namesake configs/own_data/...: copy this file, edit the first block, then
#   python -m mmdet_eps_l2.tools.train my_config.py
from mmdet.datasets.transforms.formatting import PackDetInputs
from mmdet.datasets.transforms.loading import LoadAnnotations
from mmdet.datasets.transforms.transforms import RandomFlip, Resize
from mmcv.transforms.loading import LoadImageFromFile
from mmengine.config import read_base

with read_base():
    from ..toy.mask_rcnn_r18_c32_fpn_c64_gn_ws_all_eps_l2_toy_shapes import *  # noqa: F401,F403,E501

data_root = 'data/my_coco/'  # relative: from the current directory
classes = ('cat', 'dog')  # category names of the annotation files
image_size = (160, 120)  # (width, height) the images are resized to
train_ann, train_img = 'annotations/instances_train.json', 'train/'
val_ann, val_img = 'annotations/instances_val.json', 'val/'

# ---- follows from the settings above ----
# Pipelines are rebuilt as new lists: a transform's ``type`` here is a class
# (a LazyObject while the config is read), so editing the inherited list by
# comparing ``t['type']`` with a name silently changes nothing.
metainfo = dict(classes=classes)
resize = dict(type=Resize, scale=image_size, keep_ratio=True)
annotations = dict(type=LoadAnnotations, with_bbox=True, with_mask=True)
model.roi_head.bbox_head.num_classes = len(classes)
model.roi_head.mask_head.num_classes = len(classes)
train_dataloader.dataset.update(
    data_root=data_root, metainfo=metainfo, ann_file=train_ann,
    data_prefix=dict(img=train_img),
    pipeline=[dict(type=LoadImageFromFile), annotations, resize,
              dict(type=RandomFlip, prob=0.5), dict(type=PackDetInputs)])
val_dataloader.dataset.update(
    data_root=data_root, metainfo=metainfo, ann_file=val_ann,
    data_prefix=dict(img=val_img),
    pipeline=[dict(type=LoadImageFromFile), resize, annotations,
              dict(type=PackDetInputs, meta_keys=(
                  'img_id', 'img_path', 'ori_shape', 'img_shape',
                  'scale_factor'))])
test_dataloader = val_dataloader
val_evaluator.update(ann_file=data_root + val_ann)
test_evaluator = val_evaluator
