# GENERATED FILE, written by `python tools/convert_mmdet_bases.py`
# from mmdet 3.3.0's _base_/datasets/coco_detection.py
# (same values, registered types as classes); do not edit: run that command again.
from mmcv.transforms.loading import LoadImageFromFile
from mmdet.datasets.coco import CocoDataset
from mmdet.datasets.samplers.batch_sampler import AspectRatioBatchSampler
from mmdet.datasets.transforms.formatting import PackDetInputs
from mmdet.datasets.transforms.loading import LoadAnnotations
from mmdet.datasets.transforms.transforms import RandomFlip, Resize
from mmdet.evaluation.metrics.coco_metric import CocoMetric
from mmengine.dataset.sampler import DefaultSampler

dataset_type = 'CocoDataset'
data_root = 'data/coco/'
backend_args = None
train_pipeline = [
    dict(
        type=LoadImageFromFile,
        backend_args=None),
    dict(
        type=LoadAnnotations,
        with_bbox=True),
    dict(
        type=Resize,
        scale=(1333, 800),
        keep_ratio=True),
    dict(
        type=RandomFlip,
        prob=0.5),
    dict(
        type=PackDetInputs)
]
test_pipeline = [
    dict(
        type=LoadImageFromFile,
        backend_args=None),
    dict(
        type=Resize,
        scale=(1333, 800),
        keep_ratio=True),
    dict(
        type=LoadAnnotations,
        with_bbox=True),
    dict(
        type=PackDetInputs,
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(
        type=DefaultSampler,
        shuffle=True),
    batch_sampler=dict(
        type=AspectRatioBatchSampler),
    dataset=dict(
        type=CocoDataset,
        data_root='data/coco/',
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(
            img='train2017/'),
        filter_cfg=dict(
            filter_empty_gt=True,
            min_size=32),
        pipeline=[
            dict(
                type=LoadImageFromFile,
                backend_args=None),
            dict(
                type=LoadAnnotations,
                with_bbox=True),
            dict(
                type=Resize,
                scale=(1333, 800),
                keep_ratio=True),
            dict(
                type=RandomFlip,
                prob=0.5),
            dict(
                type=PackDetInputs)
        ],
        backend_args=None))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(
        type=DefaultSampler,
        shuffle=False),
    dataset=dict(
        type=CocoDataset,
        data_root='data/coco/',
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(
            img='val2017/'),
        test_mode=True,
        pipeline=[
            dict(
                type=LoadImageFromFile,
                backend_args=None),
            dict(
                type=Resize,
                scale=(1333, 800),
                keep_ratio=True),
            dict(
                type=LoadAnnotations,
                with_bbox=True),
            dict(
                type=PackDetInputs,
                meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
        ],
        backend_args=None))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(
        type=DefaultSampler,
        shuffle=False),
    dataset=dict(
        type=CocoDataset,
        data_root='data/coco/',
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(
            img='val2017/'),
        test_mode=True,
        pipeline=[
            dict(
                type=LoadImageFromFile,
                backend_args=None),
            dict(
                type=Resize,
                scale=(1333, 800),
                keep_ratio=True),
            dict(
                type=LoadAnnotations,
                with_bbox=True),
            dict(
                type=PackDetInputs,
                meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
        ],
        backend_args=None))
val_evaluator = dict(
    type=CocoMetric,
    ann_file='data/coco/annotations/instances_val2017.json',
    metric='bbox',
    format_only=False,
    backend_args=None)
test_evaluator = dict(
    type=CocoMetric,
    ann_file='data/coco/annotations/instances_val2017.json',
    metric='bbox',
    format_only=False,
    backend_args=None)
