"""The data check: bad annotation files, classes and heads that disagree,
missing images, counts, files without "info" — before anything runs."""
import json
import os.path as osp

import pytest
from mmengine.config import Config, ConfigDict

from helpers.toy import TOY_MASK_RCNN, TOY_RETINANET
from mmdet_eps_l2.utils import ConfigCheckError, check_config
from mmdet_eps_l2.utils.data_check import (annotation_counts,
                                           check_coco_data, head_num_classes)


def _coco(tmp_path, name='ann.json', images=2, categories=('a', 'b'),
          annotations=None, image_files=True):
    data = dict(
        images=[dict(id=i + 1, file_name=f'{i}.png', width=8, height=8)
                for i in range(images)],
        categories=[dict(id=i + 1, name=n) for i, n in enumerate(categories)],
        annotations=annotations if annotations is not None else [
            dict(id=1, image_id=1, category_id=1, bbox=[0, 0, 4, 4],
                 area=16, iscrowd=0, segmentation=[[0, 0, 4, 0, 4, 4]])
        ])
    (tmp_path / name).write_text(json.dumps(data))
    if image_files:
        (tmp_path / 'img').mkdir(exist_ok=True)
        for i in range(images):
            (tmp_path / 'img' / f'{i}.png').write_bytes(b'')
    return data


def _cfg(tmp_path, classes=('a', 'b'), num_classes=2, ann='ann.json'):
    dataset = dict(type='CocoDataset', data_root=str(tmp_path),
                   ann_file=ann, metainfo=dict(classes=classes),
                   data_prefix=dict(img='img/'))
    return ConfigDict(
        train_dataloader=dict(dataset=dataset),
        model=dict(roi_head=dict(
            bbox_head=dict(num_classes=num_classes),
            mask_head=dict(num_classes=num_classes))))


def test_consistent_data_passes(tmp_path):
    _coco(tmp_path)
    assert check_coco_data(_cfg(tmp_path)) == ([], [
        f'{tmp_path}/ann.json: 0 degenerate boxes, 0 empty segmentations, '
        '1 images without annotations (mmdet skips degenerate boxes; '
        'filter_cfg decides about empty images)'
    ])


def test_invalid_json_names_the_file_and_position(tmp_path):
    (tmp_path / 'ann.json').write_text('{"images": [\n  {"id": 1,}\n]}')
    problems, _ = check_coco_data(_cfg(tmp_path))
    assert problems == [
        f'train_dataloader.dataset.ann_file: {tmp_path}/ann.json is not '
        'valid JSON: Expecting property name enclosed in double quotes at '
        'line 2 column 12 (character 24)'
    ]


def test_missing_top_level_lists_are_named(tmp_path):
    (tmp_path / 'ann.json').write_text(json.dumps(dict(images=[])))
    problems, _ = check_coco_data(_cfg(tmp_path))
    assert problems == [
        f"train_dataloader.dataset.ann_file: {tmp_path}/ann.json: expected "
        "the lists ['images', 'annotations', 'categories'], missing or not "
        "a list: ['annotations', 'categories']"
    ]


def test_classes_not_in_the_categories_are_named_with_the_extras(tmp_path):
    _coco(tmp_path, categories=('a', 'c', 'd'))
    problems, _ = check_coco_data(_cfg(tmp_path, classes=('a', 'b')))
    assert problems == [
        f"train_dataloader.dataset.metainfo.classes: ['b'] not among the "
        f"categories of {tmp_path}/ann.json (its categories: ['a', 'c', "
        "'d']; not classes: ['c', 'd'])"
    ]


def test_extra_categories_only_are_a_note(tmp_path):
    _coco(tmp_path, categories=('a', 'b', 'z'))
    problems, notes = check_coco_data(_cfg(tmp_path))
    assert problems == []
    assert notes[0] == (f"{tmp_path}/ann.json: categories ['z'] are not "
                        'classes of train_dataloader.dataset; their '
                        'annotations are ignored')


def test_head_num_classes_mismatch_names_each_head_and_both_numbers(
        tmp_path):
    _coco(tmp_path, categories=('a', 'b', 'c', 'd'))
    problems, _ = check_coco_data(
        _cfg(tmp_path, classes=('a', 'b', 'c', 'd'), num_classes=3))
    assert problems == [
        f"model.roi_head.{head}.num_classes is 3 but "
        "train_dataloader.dataset has 4 classes ['a', 'b', 'c', 'd']: set "
        f"model.roi_head.{head}.num_classes=4"
        for head in ('bbox_head', 'mask_head')
    ]


def test_head_num_classes_covers_cascade_and_single_stage():
    cascade = dict(roi_head=dict(
        bbox_head=[dict(num_classes=3), dict(num_classes=4)],
        mask_head=dict(num_classes=3)), rpn_head=dict(num_classes=1))
    assert list(head_num_classes(cascade)) == [
        ('model.roi_head.bbox_head[0].num_classes', 3),
        ('model.roi_head.bbox_head[1].num_classes', 4),
        ('model.roi_head.mask_head.num_classes', 3),
    ]
    retina = Config.fromfile(TOY_RETINANET).model
    assert list(head_num_classes(retina)) == [
        ('model.bbox_head.num_classes', 3)]


def test_missing_images_are_counted_and_one_is_named(tmp_path):
    _coco(tmp_path, images=5, image_files=False)
    (tmp_path / 'img').mkdir()
    (tmp_path / 'img' / '0.png').write_bytes(b'')
    problems, _ = check_coco_data(_cfg(tmp_path))
    assert problems == [
        f'train_dataloader.dataset: 4 of 5 sampled images of '
        f'{tmp_path}/ann.json do not exist, e.g. {tmp_path}/img/1.png '
        '(data_root + data_prefix.img + file_name)'
    ]


def test_annotation_counts():
    data = dict(
        images=[dict(id=1), dict(id=2), dict(id=3)],
        annotations=[
            dict(image_id=1, bbox=[0, 0, 0, 5], segmentation=[[1, 2, 3, 4]]),
            dict(image_id=1, bbox=[0, 0, 3, 5], segmentation=[]),
            dict(image_id=2, bbox=[0, 0, 3, -1],
                 segmentation=dict(counts='', size=[8, 8])),
            dict(image_id=2, bbox=[1, 1, 2, 2],
                 segmentation=[[0, 0, 4, 0, 4, 4]]),
            dict(image_id=2, bbox=[1, 1, 2]),
        ])
    assert annotation_counts(data) == dict(
        degenerate_boxes=3, empty_segmentations=3,
        images_without_annotations=1)


def test_toy_config_with_four_class_data_is_refused_before_a_work_dir(
        tmp_path):
    from toy_shapes import generate_toy_coco
    root = tmp_path / 'four'
    generate_toy_coco(str(root), 2, 2, 64, classes=dict(
        a='square', b='circle', c='triangle', d='square'))
    cfg = Config.fromfile(TOY_MASK_RCNN)
    cfg.merge_from_dict({'data_root': str(root) + '/'})
    from mmdet_eps_l2.utils import retarget_data_root
    retarget_data_root(cfg, 'data/toy_coco/', str(root) + '/')
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[split].dataset.metainfo = dict(classes=('a', 'b', 'c', 'd'))
    with pytest.raises(ConfigCheckError) as e:
        check_config(cfg)
    assert 'model.roi_head.bbox_head.num_classes is 3 but ' \
        "train_dataloader.dataset has 4 classes ['a', 'b', 'c', 'd']" in \
        str(e.value)
    assert 'model.roi_head.mask_head.num_classes is 3' in str(e.value)
    # the check can be turned off (paths are still checked)
    check_config(cfg, inspect_data=False)


def test_check_config_returns_the_notes(tmp_path):
    _coco(tmp_path, categories=('a', 'b', 'z'))
    cfg = _cfg(tmp_path)
    notes = check_config(cfg)
    assert len(notes) == 2 and 'categories' in notes[0]
    assert osp.isfile(tmp_path / 'ann.json')
