# Your own COCO-format instance data with the toy GN+WS Mask R-CNN
# (ResNet-18/32, FPN 64, ε-shifted L2): edit the settings of the first block,
#   python tools/train.py configs/own_data/mask-rcnn_r18-c32_fpn-c64_gn-ws-all_eps-l2_own-coco.py
_base_ = '../toy/mask-rcnn_r18-c32_fpn-c64_gn-ws-all_eps-l2_toy-shapes.py'

data_root = 'data/my_coco/'  # relative: from the current directory
classes = ('cat', 'dog')  # category names of the annotation files
image_size = (160, 120)  # (width, height) the images are resized to
train_ann, train_img = 'annotations/instances_train.json', 'train/'
val_ann, val_img = 'annotations/instances_val.json', 'val/'

# ---- follows from the settings above ----
metainfo = dict(classes=classes)
resize = dict(type='Resize', scale=image_size, keep_ratio=True)
annotations = dict(type='LoadAnnotations', with_bbox=True, with_mask=True)
model = dict(roi_head=dict(bbox_head=dict(num_classes=len(classes)),
                           mask_head=dict(num_classes=len(classes))))
train_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=metainfo, ann_file=train_ann,
    data_prefix=dict(img=train_img),
    pipeline=[dict(type='LoadImageFromFile'), annotations, resize,
              dict(type='RandomFlip', prob=0.5), dict(type='PackDetInputs')]))
val_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=metainfo, ann_file=val_ann,
    data_prefix=dict(img=val_img),
    pipeline=[dict(type='LoadImageFromFile'), resize, annotations,
              dict(type='PackDetInputs', meta_keys=(
                  'img_id', 'img_path', 'ori_shape', 'img_shape',
                  'scale_factor'))]))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + val_ann)
test_evaluator = val_evaluator
