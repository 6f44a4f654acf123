"""The data check: bad annotation files, classes and heads that disagree,
missing and undecodable images, counts, files without "info" — before
anything runs."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config, ConfigDict

from helpers.toy import TOY_MASK_RCNN, TOY_RETINANET
from mmdet_eps_l2.checks import ConfigCheckError, check_config, check_data
from mmdet_eps_l2.checks.data import (annotation_counts, check_coco_data,
                                      head_num_classes)

#: a decodable 8x8 PNG
PNG = cv2.imencode('.png', np.zeros((8, 8, 3), np.uint8))[1].tobytes()


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
            (tmp_path / 'img' / f'{i}.png').write_bytes(PNG)
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
        f'{tmp_path}/ann.json: 1 images without an annotation of the '
        'classes (filter_cfg '
        'decides whether they train)'
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
    (tmp_path / 'img' / '0.png').write_bytes(PNG)
    problems, _ = check_coco_data(_cfg(tmp_path))
    assert problems == [
        f'train_dataloader.dataset: 4 of 5 sampled images of '
        f'{tmp_path}/ann.json do not exist, e.g. {tmp_path}/img/1.png '
        '(data_root + data_prefix.img + file_name)'
    ]


def test_annotation_counts_follow_mmdet_parse_rules():
    image = dict(width=8, height=8, file_name='x.png')
    data = dict(
        images=[dict(id=i, **image) for i in (1, 2, 3)],
        categories=[dict(id=1, name='a'), dict(id=2, name='b')],
        annotations=[
            dict(id=1, image_id=1, category_id=1, bbox=[0, 0, 0.5, 5],
                 area=2),  # under 1 px wide: dropped
            dict(id=2, image_id=1, category_id=12, bbox=[0, 0, 3, 5],
                 area=15),  # unknown category
            dict(id=3, image_id=2, category_id=7, bbox=[0, 0, 3, 3],
                 area=9),  # unknown category
            dict(id=4, image_id=2, category_id=12, bbox=[9, 9, 2, 2],
                 area=4),  # unknown category, outside: not counted twice
            dict(id=5, image_id=2, category_id=1, bbox=[9, 9, 2, 2],
                 area=4),  # outside the image: dropped
            dict(id=6, image_id=2, category_id=1, bbox=[1, 1, 2, 2],
                 area=0),  # area 0: dropped
            dict(id=7, image_id=9, category_id=1),  # no such image
            dict(id=8, image_id=3, category_id=2, bbox=[1, 1, 2, 2],
                 area=4, segmentation=[]),  # kept, no mask
            dict(id=9, image_id=3, category_id=1, bbox=[1, 1, 2, 2],
                 area=4, segmentation=[[0, 0, 4, 0, 4, 4], [1, 1], []]),
            dict(id=10, image_id=3, category_id=1, ignore=True),  # skipped
            dict(id=11, image_id=3, category_id=1, bbox=[20, 20, 2, 2]),
            # outside: mmdet reads no area
        ])
    expected = dict(
        dict.fromkeys(('unreadable_boxes', 'missing_areas', 'missing_iscrowd',
                       'repeated_ids', 'unreadable_segmentations',
                       'misfit_rles'), 0),
        maskless_instances=1, first=dict(maskless_instances=7),
        unknown_category_annotations=3, unknown_category_ids=[7, 12],
        images=3, orphan_annotations=1, dropped_boxes=3, dropped_polygons=2,
        images_without_class_annotations=0)
    assert annotation_counts(data, with_mask=True) == expected
    # without masks the segmentations are not read
    assert annotation_counts(data) == dict(
        expected, maskless_instances=0, dropped_polygons=0, first={})
    # class 'a' only: the 'b' annotation is not an instance; image 2 has
    # one of 'a' (dropped later, but filter_empty_gt looks at annotations,
    # as mmdet's filter_data does)
    assert annotation_counts(data, ('a', ), with_mask=True) == dict(
        expected, maskless_instances=0, first={})
    assert annotation_counts(data, ('b', ))[
        'images_without_class_annotations'] == 2
    # evaluated (val / test): COCOeval reads bbox, area and iscrowd of
    # every ground truth of the images
    evaluated = annotation_counts(data, evaluated=True)
    assert {k: evaluated[k] for k in ('unreadable_boxes', 'missing_areas',
                                      'missing_iscrowd')} == dict(
        unreadable_boxes=1, missing_areas=1, missing_iscrowd=10)
    assert evaluated['first'] == dict(unreadable_boxes=9, missing_areas=10,
                                      missing_iscrowd=0)


def _mmdet_dataset(root, ann='ann.json', with_mask=False, **kwargs):
    """mmdet's own CocoDataset on the file (what the check foresees)."""
    from mmcv.transforms import LoadImageFromFile
    from mmdet.datasets import CocoDataset
    from mmdet.datasets.transforms import LoadAnnotations
    pipeline = [LoadImageFromFile(),
                LoadAnnotations(with_bbox=True, with_mask=with_mask)]
    return CocoDataset(data_root=str(root), ann_file=ann,
                       metainfo=dict(classes=('a', 'b')),
                       data_prefix=dict(img='img/'), pipeline=pipeline,
                       **kwargs)


def _annotation(**kwargs):
    return dict(dict(id=1, image_id=1, category_id=1, bbox=[0, 0, 4, 4],
                     area=16, iscrowd=0, segmentation=[[0, 0, 4, 0, 4, 4]]),
                **kwargs)


def _mask_pipeline(cfg, split='train_dataloader'):
    cfg[split].dataset.pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True)]
    return cfg


ENTRY = 'train_dataloader.dataset.ann_file: {ann}: '
ANNOTATIONS = 'train_dataloader.dataset: 1 annotations of {ann}, e.g. '


@pytest.mark.parametrize('edit, problem, mmdet_error', [
    (lambda d: d['images'][1].pop('height'),
     ENTRY + '1 images entries, e.g. images[1] lack "height" (pycocotools\' '
     "COCO or mmdet's CocoDataset reads it: KeyError after the model is "
     'built)', KeyError),
    (lambda d: d['images'][0].update(width='8'),
     ENTRY + '1 images entries, e.g. images[0] have a "width" that is not a '
     "number (found '8')", TypeError),
    (lambda d: d['annotations'].append([1, 2]),
     ENTRY + '1 annotations entries, e.g. annotations[1] are not JSON '
     'objects (found list)', TypeError),
    (lambda d: d['annotations'][0].pop('area'),
     ANNOTATIONS + "annotations[0], have no number as area (mmdet's "
     'CocoDataset reads it for boxes inside the image, COCOeval for every '
     'ground truth: KeyError or TypeError)', KeyError),
    (lambda d: d['annotations'][0].update(bbox=[0, 0, 4]),
     ANNOTATIONS + 'annotations[0], have a bbox that is not [x, y, w, h], '
     "4 numbers (mmdet's CocoDataset unpacks it; COCOeval reads it)",
     ValueError),
    (lambda d: d['annotations'].append(_annotation(image_id=2)),
     ANNOTATIONS + "annotations[1], have an id used before in the file "
     "(pycocotools' COCO index keeps the last annotation of each id: mmdet "
     "loads it in place of the others, or asserts 'Annotation ids ... are "
     "not unique')", AssertionError),
    # an annotation of no image reusing the id stands in for the first
    (lambda d: d['annotations'].append(dict(id=1, image_id=5,
                                            category_id=1)),
     ANNOTATIONS + "annotations[1], have an id used before in the file "
     "(pycocotools' COCO index keeps the last annotation of each id: mmdet "
     "loads it in place of the others, or asserts 'Annotation ids ... are "
     "not unique')", KeyError),
])
def test_entries_mmdet_cannot_read_are_refused(tmp_path, edit, problem,
                                               mmdet_error):
    data = _coco(tmp_path, annotations=[_annotation()])
    edit(data)
    (tmp_path / 'ann.json').write_text(json.dumps(data))
    problems, _ = check_coco_data(_cfg(tmp_path))
    assert problems == [problem.format(ann=tmp_path / 'ann.json')]
    with pytest.raises(mmdet_error):
        _mmdet_dataset(tmp_path)


@pytest.mark.parametrize('annotation', [
    dict(id=2, image_id=1, category_id=1, ignore=True),  # skipped first
    dict(id=2, image_id=5, category_id=1),  # of no image
    dict(id=2, image_id=1, category_id=1, bbox=[9, 9, 2, 2]),  # outside:
    # no area read
    dict(id=2, image_id=1, category_id=7, bbox=[1, 1, 2, 2], area=4),
])
def test_annotations_mmdet_skips_unread_are_not_refused(tmp_path,
                                                        annotation):
    _coco(tmp_path, annotations=[_annotation(), annotation])
    problems, _ = check_coco_data(_mask_pipeline(_cfg(tmp_path)))
    assert problems == []
    dataset = _mmdet_dataset(tmp_path, with_mask=True)
    assert len(dataset[0]['gt_bboxes']) == 1


@pytest.mark.parametrize('segmentation, kind', [
    ([], 'no segmentation'), (None, 'no segmentation'),
    ([0, 0, 4, 0, 4, 4], 'a segmentation that is neither'),
    (7, 'a segmentation that is neither'),
])
def test_an_instance_without_a_readable_mask_is_refused_under_a_mask_pipeline(
        tmp_path, segmentation, kind):
    _coco(tmp_path, annotations=[_annotation(segmentation=segmentation)])
    cfg = _mask_pipeline(_cfg(tmp_path))
    problems, _ = check_coco_data(cfg)
    assert len(problems) == 1 and problems[0].startswith(
        f'train_dataloader.dataset: 1 annotations of {tmp_path}/ann.json, '
        f'e.g. annotations[0], have {kind}'), problems
    with pytest.raises((KeyError, TypeError)):
        _mmdet_dataset(tmp_path, with_mask=True)[0]
    # a box-only pipeline does not read segmentations
    cfg.train_dataloader.dataset.pipeline[1]['with_mask'] = False
    assert check_coco_data(cfg)[0] == []
    assert _mmdet_dataset(tmp_path)[0]['gt_bboxes'].shape == (1, 4)


def test_each_way_of_reading_a_shared_file_is_checked(tmp_path):
    """Box-only training and mask validation on one file: the validation
    split's missing mask is named."""
    _coco(tmp_path, annotations=[_annotation(segmentation=[])])
    cfg = _cfg(tmp_path)
    cfg.val_dataloader = dict(dataset=dict(cfg.train_dataloader.dataset))
    cfg = _mask_pipeline(cfg, 'val_dataloader')
    problems, _ = check_coco_data(cfg)
    assert len(problems) == 1 and problems[0].startswith(
        f'val_dataloader.dataset: 1 annotations of {tmp_path}/ann.json, e.g. '
        'annotations[0], have no segmentation'), problems


def test_a_val_file_without_iscrowd_is_refused_as_cocoeval_needs_it(
        tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    annotation = _annotation()
    del annotation['iscrowd']
    _coco(tmp_path, annotations=[annotation])
    cfg = _cfg(tmp_path)
    assert check_coco_data(cfg)[0] == []  # training does not read it
    cfg.val_dataloader = cfg.pop('train_dataloader')
    problems, _ = check_coco_data(cfg)
    assert problems == [
        f'val_dataloader.dataset: 1 annotations of {tmp_path}/ann.json, e.g. '
        'annotations[0], have no "iscrowd" (absent or null; COCOeval reads '
        'it as an int for every ground truth of the val / test file: '
        'KeyError or TypeError at the first evaluation)'
    ]
    gt = COCO(str(tmp_path / 'ann.json'))
    evaluation = COCOeval(gt, gt.loadRes([dict(image_id=1, category_id=1,
                                               bbox=[0, 0, 4, 4],
                                               score=1.0)]), 'bbox')
    with pytest.raises(KeyError, match='iscrowd'):
        evaluation.evaluate()


def test_a_training_split_that_filter_empty_gt_empties_is_refused(tmp_path):
    _coco(tmp_path, categories=('a', 'b', 'z'),
          annotations=[_annotation(category_id=3)])
    cfg = _cfg(tmp_path)
    cfg.train_dataloader.dataset.filter_cfg = dict(filter_empty_gt=True)
    problems, _ = check_coco_data(cfg)
    assert problems == [
        f'train_dataloader.dataset: no image of {tmp_path}/ann.json has an '
        'annotation of the classes, and filter_cfg.filter_empty_gt=True '
        'drops such images: training would have no samples (mmdet: '
        'ValueError: need at least one array to concatenate, after '
        'building the model)'
    ]
    with pytest.raises(ValueError, match='need at least one array'):
        _mmdet_dataset(tmp_path, filter_cfg=dict(filter_empty_gt=True))
    cfg.train_dataloader.dataset.filter_cfg = dict(filter_empty_gt=False)
    assert check_coco_data(cfg)[0] == []


def test_dropped_boxes_are_counted_as_mmdet_drops_them(tmp_path):
    _coco(tmp_path, images=1, annotations=[
        _annotation(id=1), _annotation(id=2, bbox=[0, 0, 0.5, 4]),
        _annotation(id=3, bbox=[8, 0, 4, 4]), _annotation(id=4, area=0)])
    assert check_coco_data(_cfg(tmp_path)) == ([], [
        f'{tmp_path}/ann.json: 3 boxes mmdet drops (outside the image, '
        'width or height < 1, or area <= 0)'
    ])
    assert len(_mmdet_dataset(tmp_path)[0]['gt_bboxes']) == 1


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
    assert check_config(cfg) == []  # the config itself is fine, no note
    with pytest.raises(ConfigCheckError) as e:
        check_data(cfg, 'train')
    assert 'model.roi_head.bbox_head.num_classes is 3 but ' \
        "train_dataloader.dataset has 4 classes ['a', 'b', 'c', 'd']" in \
        str(e.value)
    assert 'model.roi_head.mask_head.num_classes is 3' in str(e.value)
    # the check can be turned off (paths are still checked)
    check_data(cfg, 'train', inspect_data=False)


def test_check_data_returns_the_notes(tmp_path):
    _coco(tmp_path, categories=('a', 'b', 'z'))
    cfg = _cfg(tmp_path)
    notes = check_data(cfg, 'train')
    assert notes == [
        f"{tmp_path}/ann.json: categories ['z'] are not classes of "
        'train_dataloader.dataset; their annotations are ignored',
        f'{tmp_path}/ann.json: 1 images without an annotation of the '
        'classes (filter_cfg '
        'decides whether they train)'
    ]
    assert osp.isfile(tmp_path / 'ann.json')


# Issue 18: a real data set's defects, each in a copy of the toy data (3
# train, 1 val images of 64 px).

def _toy(tmp_path):
    from toy_shapes import generate_toy_coco
    root = tmp_path / 'toy'
    generate_toy_coco(str(root), num_train=3, num_val=1, image_size=64,
                      seed=0)
    return root


def _toy_cfg(root):
    def dataset(split):
        return dict(type='CocoDataset', data_root=f'{root}/',
                    ann_file=f'annotations/instances_{split}.json',
                    metainfo=dict(classes=('square', 'circle', 'triangle')),
                    data_prefix=dict(img=f'{split}/'))

    return ConfigDict(train_dataloader=dict(dataset=dataset('train')),
                      val_dataloader=dict(dataset=dataset('val')),
                      model=dict(bbox_head=dict(num_classes=3)))


def _edit(path, edit):
    with open(path) as f:
        data = json.load(f)
    edit(data)
    with open(path, 'w') as f:
        json.dump(data, f)


def _cut_in_half(path):
    raw = path.read_bytes()
    path.write_bytes(raw[:len(raw) // 2])


def test_toy_data_passes_without_notes(tmp_path):
    assert check_coco_data(_toy_cfg(_toy(tmp_path))) == ([], [])


def test_truncated_png_and_jpeg_of_the_sample_are_named(tmp_path):
    """A file cut to half its bytes is decoded, as mmcv decodes it, and
    named; the check refuses exactly what LoadImageFromFile cannot load."""
    import mmcv
    from mmcv.transforms import LoadImageFromFile
    root = _toy(tmp_path)
    train = root / 'train'
    _cut_in_half(train / '000002.png')
    # the generator writes PNG; the same image as a truncated JPEG too
    cv2.imwrite(str(train / '000003.jpg'), cv2.imread(str(train /
                                                          '000003.png')))
    _cut_in_half(train / '000003.jpg')
    ann = root / 'annotations' / 'instances_train.json'
    _edit(ann, lambda d: d['images'][2].update(file_name='000003.jpg'))
    # OpenCV 5's imdecode gives None for a truncated JPEG (imread does not)
    jpeg_fails = mmcv.imfrombytes((train / '000003.jpg').read_bytes()) \
        is None
    named = [train / '000002.png'] + ([train / '000003.jpg']
                                      if jpeg_fails else [])
    problems, _ = check_coco_data(_toy_cfg(root))
    assert problems == [
        f'train_dataloader.dataset: {len(named)} of 3 sampled images of '
        f"{ann} cannot be decoded by mmcv.imfrombytes (backend 'cv2', as "
        'LoadImageFromFile reads them): ' +
        ', '.join(f'{f} (decodes to None)' for f in named)
    ]
    for name in ('000001.png', '000002.png', '000003.jpg'):
        path = str(train / name)
        if train / name in named:
            with pytest.raises(AssertionError,
                               match=f'failed to load image: {path}'):
                LoadImageFromFile(ignore_empty=True).transform(
                    dict(img_path=path))
        else:
            assert LoadImageFromFile().transform(
                dict(img_path=path))['img'] is not None


def test_an_empty_image_file_is_named_with_the_decoding_error(tmp_path):
    _coco(tmp_path, images=2)
    (tmp_path / 'img' / '1.png').write_bytes(b'')
    problems, _ = check_coco_data(_cfg(tmp_path))
    assert problems == [
        'train_dataloader.dataset: 1 of 2 sampled images of '
        f"{tmp_path}/ann.json cannot be decoded by mmcv.imfrombytes "
        "(backend 'cv2', as LoadImageFromFile reads them): "
        f'{tmp_path}/img/1.png (empty file)'
    ]


def test_unknown_category_ids_are_counted_and_named(tmp_path):
    root = _toy(tmp_path)
    ann = root / 'annotations' / 'instances_train.json'

    def unknown(data):
        for a, category in zip(data['annotations'], (7, 9, 7)):
            a['category_id'] = category

    _edit(ann, unknown)
    assert check_coco_data(_toy_cfg(root)) == ([], [
        f'{ann}: 3 annotations whose category_id is not among the '
        'categories (ids: 7, 9; mmdet drops them); 1 images without an '
        'annotation of the classes (filter_cfg decides whether they train)'
    ])


def test_polygons_mmdet_drops_are_counted_under_a_mask_pipeline(tmp_path):
    root = _toy(tmp_path)
    ann = root / 'annotations' / 'instances_train.json'

    def defects(data):
        data['annotations'][0]['segmentation'] = [[10, 10, 20, 20]]
        data['annotations'][1]['segmentation'] = [[10, 10, 20, 20, 30, 10,
                                                   5]]

    _edit(ann, defects)
    cfg = _toy_cfg(root)
    assert check_coco_data(cfg) == ([], [])  # boxes only: not read
    assert check_coco_data(_mask_pipeline(cfg)) == ([], [
        f"{ann}: 2 polygons mmdet's LoadAnnotations drops (fewer than 3 "
        'points or an odd number of coordinates; an instance left without '
        'a polygon is ignored)'
    ])


def test_an_annotation_file_without_images_is_refused(tmp_path):
    root = _toy(tmp_path)
    ann = root / 'annotations' / 'instances_val.json'
    _edit(ann, lambda d: d.update(images=[]))
    problem = (
        f'val_dataloader.dataset.ann_file: {ann}: "images" is empty '
        '(expected at least one image): the dataset would have no samples '
        'and mmdet would fail after building the model (ValueError: need '
        'at least one array to concatenate)')
    assert check_coco_data(_toy_cfg(root)) == ([problem], [])
    with pytest.raises(ConfigCheckError) as e:
        check_data(_toy_cfg(root), 'train')
    assert str(e.value) == f'config check failed:\n  - {problem}'
