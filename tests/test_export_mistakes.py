"""The mistakes labelling tools and converters make (issue 31): each one
in a copy of the toy annotations, the check's verdict and words next to
what mmdet's CocoDataset then reads; the model notes (checkpoints without
WS, partial WS); valid sets that stay quiet; real converters' files."""
import glob
import json
import os.path as osp
import shutil

import pytest
from mmengine.config import Config, ConfigDict

from helpers.toy import ROOT, TOY_MASK_RCNN
from mmdet_eps_l2.checks import check_config
from mmdet_eps_l2.checks import data as data_check
from mmdet_eps_l2.checks.data import check_coco_data
from mmdet_eps_l2.checks.ws_model import checkpoint_notes, partial_ws_notes

CLASSES = ('square', 'circle', 'triangle')
CONVERTED = osp.join(ROOT, 'tests', 'converted')


def _copy(toy_root, tmp_path, edit_train=None, edit_val=None):
    """The toy annotations (16 train, 6 val images of 128 px) copied to
    ``tmp_path`` and edited; the images stay where they are."""
    toy = toy_root / 'data' / 'toy_coco'
    paths = {}
    for split, edit in (('train', edit_train), ('val', edit_val)):
        with open(toy / 'annotations' / f'instances_{split}.json') as f:
            data = json.load(f)
        if edit:
            edit(data)
        paths[split] = tmp_path / f'{split}.json'
        paths[split].write_text(json.dumps(data))
    return toy, paths


def _cfg(toy, paths, classes=CLASSES):
    def dataset(split):
        return dict(type='CocoDataset', data_root=f'{toy}/',
                    ann_file=str(paths[split]),
                    metainfo=dict(classes=classes),
                    data_prefix=dict(img=f'{split}/'))

    return ConfigDict(train_dataloader=dict(dataset=dataset('train')),
                      val_dataloader=dict(dataset=dataset('val')))


def _mmdet_reads(ann_file, classes=CLASSES):
    """``{file name: [(class name, [x1, y1, x2, y2]), ...]}`` as mmdet's
    CocoDataset reads the file (the name: ``classes[label]``, what the
    model calls the label)."""
    from mmdet.datasets import CocoDataset
    dataset = CocoDataset(ann_file=str(ann_file), data_prefix=dict(img=''),
                          metainfo=dict(classes=classes), pipeline=[],
                          serialize_data=False)
    read = {}
    for info in dataset.data_list:
        read.setdefault(osp.basename(info['img_path']), []).extend(
            (classes[i['bbox_label']], i['bbox']) for i in info['instances']
            if not i['ignore_flag'])
    return read


def _truth(toy, split='train'):
    return _mmdet_reads(toy / 'annotations' / f'instances_{split}.json')


def _sort_categories(data):
    data['categories'].sort(key=lambda c: c['name'])


# ---------------------------------------------------- category order


def test_categories_in_another_order_than_classes_are_refused(toy_root,
                                                              tmp_path):
    """Both files sorted by name (as supervision's from_pascal_voc, globox
    and labelme2coco write them): mmdet gives circles the label of
    squares and back; refused, with both orders and both fixes."""
    toy, paths = _copy(toy_root, tmp_path, _sort_categories, _sort_categories)
    problems, notes = check_coco_data(_cfg(toy, paths))
    assert problems == [
        f"{where}.dataset.metainfo.classes is ['square', 'circle', "
        f"'triangle'] but {paths[split]} lists these categories in the "
        "order ['circle', 'square', 'triangle']: mmdet numbers labels by "
        "the file's order (pycocotools' getCatIds keeps it), not by "
        f'classes, so {moved} of the {total} annotations of the classes '
        'would train under the label and name of another class. Fix one of '
        "the two: metainfo.classes = ('circle', 'square', 'triangle') (in "
        "every split), or list the file's categories in the order of "
        'metainfo.classes'
        for where, split, moved, total in (
            ('train_dataloader', 'train', 22, 35),
            ('val_dataloader', 'val', 6, 11))]
    assert notes == []
    # what mmdet reads: every square and circle under the other's name
    truth, read = _truth(toy), _mmdet_reads(paths['train'])
    changed = sum(t[0] != r[0] for name in truth
                  for t, r in zip(truth[name], read[name]))
    assert changed == 22
    # the first fix: classes in the file's order read as labelled
    fixed = ('circle', 'square', 'triangle')
    assert check_coco_data(_cfg(toy, paths, fixed)) == ([], [])
    assert _mmdet_reads(paths['train'], fixed) == truth


def test_train_and_val_files_in_different_orders_are_refused(toy_root,
                                                             tmp_path):
    toy, paths = _copy(toy_root, tmp_path, edit_train=_sort_categories)
    problems, _ = check_coco_data(_cfg(toy, paths))
    assert problems == [
        "train_dataloader.dataset.metainfo.classes is ['square', 'circle', "
        f"'triangle'] but {paths['train']} lists these categories in the "
        "order ['circle', 'square', 'triangle']: mmdet numbers labels by "
        "the file's order (pycocotools' getCatIds keeps it), not by "
        'classes, so 22 of the 35 annotations of the classes would train '
        'under the label and name of another class; val_dataloader.dataset '
        f"reads {paths['val']} in the order ['square', 'circle', "
        "'triangle']: training and evaluation would number the classes "
        f"differently. Fix: list the categories of {paths['train']} in the "
        'order of metainfo.classes']


def test_a_category_order_that_moves_no_class_is_not_refused(toy_root,
                                                             tmp_path):
    """Categories that are not classes may sit anywhere: only the order of
    the classes counts."""
    def extra_first(data):
        data['categories'].insert(0, dict(id=9, name='hexagon'))

    toy, paths = _copy(toy_root, tmp_path, extra_first, extra_first)
    problems, notes = check_coco_data(_cfg(toy, paths))
    assert problems == []
    assert [n.split(': ', 1)[1] for n in notes] == [
        "categories ['hexagon'] are not classes of train_dataloader.dataset;"
        ' their annotations are ignored',
        "categories ['hexagon'] are not classes of val_dataloader.dataset; "
        'their annotations are ignored']
    assert _mmdet_reads(paths['train']) == _truth(toy)


# ------------------------------------------------- boxes written as corners


def _as_corners(count=None):
    def edit(data):
        for a in data['annotations'][:count]:
            x, y, w, h = a['bbox']
            a['bbox'] = [x, y, x + w, y + h]
    return edit


def test_boxes_written_as_corners_are_refused(toy_root, tmp_path):
    toy, paths = _copy(toy_root, tmp_path, _as_corners())
    problems, notes = check_coco_data(_cfg(toy, paths))
    with open(paths['train']) as f:
        first = json.load(f)['annotations'][1]['bbox']
    assert problems == [
        f"train_dataloader.dataset.ann_file: {paths['train']}: 26 of 35 "
        'boxes extend past their image as [x, y, w, h] but fit as [x1, y1, '
        f'x2, y2], e.g. annotations[1] bbox {first} in a 128x128 image: '
        "boxes written as corners? mmdet reads COCO's [x, y, w, h], so each "
        'box would end at x1 + x2, y1 + y2. Write each bbox as [x1, y1, x2 '
        '- x1, y2 - y1]']
    # mmdet keeps them, 26 ending more than 2 px past the image
    read = _mmdet_reads(paths['train'])
    past = sum(box[2] > 130 or box[3] > 130
               for instances in read.values() for _, box in instances)
    assert past == 26
    assert sum(map(len, read.values())) == 35


def test_a_few_boxes_past_the_image_that_fit_as_corners_are_noted(
        toy_root, tmp_path):
    toy, paths = _copy(toy_root, tmp_path, _as_corners(2))
    problems, notes = check_coco_data(_cfg(toy, paths))
    assert problems == []
    with open(paths['train']) as f:
        first = json.load(f)['annotations'][1]['bbox']
    assert notes == [
        f"{paths['train']}: 1 of 35 boxes extend past their image as [x, y, "
        f'w, h] but fit as [x1, y1, x2, y2], e.g. annotations[1] bbox '
        f'{first} in a 128x128 image (9 of 35 fit as corners: too few to '
        'tell boxes written as corners from boxes that overflow their '
        'image; mmdet reads them as [x, y, w, h])']


# ------------------------------------------- images and annotations twice


def test_one_image_under_two_ids_is_refused_naming_both(toy_root, tmp_path):
    """The first image listed again under id 17, with its second and later
    annotations moved there."""
    def split_image(data):
        data['images'].append(dict(data['images'][0], id=17))
        for a in [a for a in data['annotations'] if a['image_id'] == 1][1:]:
            a['image_id'] = 17

    toy, paths = _copy(toy_root, tmp_path, split_image)
    problems, _ = check_coco_data(_cfg(toy, paths))
    assert problems == [
        f"train_dataloader.dataset.ann_file: {paths['train']}: 1 images "
        'entries repeat the file_name of an earlier one, e.g. images[0] (id '
        "1, 1 annotations) and images[16] (id 17, 2 annotations) are both "
        "'000001.png': mmdet loads the image once per id with that id's "
        'annotations only, so the objects of the other id train as '
        'background. List each file once, with all its annotations under '
        'its id']
    from mmdet.datasets import CocoDataset
    dataset = CocoDataset(ann_file=str(paths['train']),
                          data_prefix=dict(img=''), pipeline=[],
                          metainfo=dict(classes=CLASSES))
    samples = [dataset.get_data_info(i) for i in range(len(dataset))]
    same_file = [s for s in samples if s['img_path'] == '000001.png']
    assert [len(s['instances']) for s in same_file] == [1, 2]


def test_every_annotation_written_twice_is_noted(toy_root, tmp_path):
    def twice(data):
        copies = [dict(a, id=a['id'] + 1000) for a in data['annotations']]
        data['annotations'] += copies

    toy, paths = _copy(toy_root, tmp_path, twice)
    problems, notes = check_coco_data(_cfg(toy, paths))
    assert problems == []
    assert notes == [
        f"{paths['train']}: 35 annotations repeat an earlier one (same "
        'image, category and bbox), e.g. annotations[35] repeats '
        'annotations[0]: mmdet trains on every copy, and COCOeval counts '
        'each as an object to find']
    read = _mmdet_reads(paths['train'])
    assert sum(map(len, read.values())) == 70


# ----------------------------------------------- category ids off by one


def test_category_ids_shifted_by_one_are_noted_with_the_shift(toy_root,
                                                              tmp_path):
    def zero_based(data):
        for a in data['annotations']:
            a['category_id'] -= 1

    toy, paths = _copy(toy_root, tmp_path, zero_based)
    problems, notes = check_coco_data(_cfg(toy, paths))
    assert problems == []
    train = paths['train']
    assert notes == [
        f"{train}: the annotations' category_ids (0-2) look like the "
        "categories' ids (1-3) minus 1: mmdet drops the 11 of 35 "
        'annotations whose id no category has and trains the other 24 as '
        'the category their id names. If the ids were written off by a '
        'constant (e.g. 0-based annotations, 1-based categories), add 1 to '
        "every annotation's category_id",
        f'{train}: 11 annotations whose category_id is not among the '
        'categories (ids: 0; mmdet drops them); 2 images without an '
        'annotation of the classes (filter_cfg decides whether they train)']
    read = _mmdet_reads(train)
    assert sum(map(len, read.values())) == 24


# ------------------------------------------------------ class names


def test_class_names_differing_in_case_list_the_closest_names(tmp_path):
    """Against COCO's 80 categories: the closest names, not all 80."""
    from toy_shapes import generate_toy_coco
    root = tmp_path / 'coco'
    generate_toy_coco(str(root), 2, 1, 64, coco_layout=True)
    cfg = ConfigDict(train_dataloader=dict(dataset=dict(
        type='CocoDataset', data_root=f'{root}/',
        ann_file='annotations/instances_train2017.json',
        metainfo=dict(classes=('Person', 'traffic_light', 'dogs')),
        data_prefix=dict(img='train2017/'))))
    problems, _ = check_coco_data(cfg)
    assert len(problems) == 1
    assert problems[0].startswith(
        "train_dataloader.dataset.metainfo.classes: ['Person', "
        "'traffic_light', 'dogs'] not among the categories of "
        f'{root}/annotations/instances_train2017.json (closest categories: '
        "'Person' -> 'person', 'traffic_light' -> 'traffic light', 'dogs' -> "
        "'dog'; its categories: ['person', 'bicycle', 'car', "
        "'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', "
        "'traffic light'] and 70 more; not classes: ['person', "), problems
    assert problems[0].endswith('and 70 more)')
    assert 'toothbrush' not in problems[0]


# ------------------------------------------------- valid sets stay quiet


def test_valid_toy_and_template_sets_give_no_note(toy_root, tmp_path):
    """The toy set, its COCO layout under stock COCO classes, and the
    own-data template on generated data: no problem and no note."""
    from toy_shapes import generate_toy_coco
    toy, paths = _copy(toy_root, tmp_path)
    assert check_coco_data(_cfg(toy, paths)) == ([], [])
    coco = tmp_path / 'coco'
    generate_toy_coco(str(coco), 8, 4, 96, coco_layout=True)
    stock = Config.fromfile(osp.join(
        osp.dirname(__import__('mmdet').__file__), '.mim', 'configs',
        '_base_', 'datasets', 'coco_instance.py'))
    stock.merge_from_dict({'train_dataloader.dataset.data_root': f'{coco}/',
                           'val_dataloader.dataset.data_root': f'{coco}/'})
    assert check_coco_data(stock) == ([], [])
    own = tmp_path / 'own'
    generate_toy_coco(str(own), 8, 4, (160, 120), seed=3, with_info=False,
                      classes=dict(cat='circle', dog='square'))
    template = Config.fromfile(osp.join(
        ROOT, 'configs', 'own_data',
        'mask-rcnn_r18-c32_fpn-c64_gn-ws-all_eps-l2_own-coco.py'))
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        template[split].dataset.data_root = f'{own}/'
    assert check_coco_data(template) == ([], [])


def _crowded_coco_like():
    """COCO-like: 640x480 images, crowded scenes (up to 40 overlapping
    boxes of one size), boxes ending on the edges, boxes rounded 1.5 px
    past them (as converted 1-based corners are), large boxes that fit as
    corners too, crowd RLE regions; ids as COCO's (gaps)."""
    import random
    rng = random.Random(0)
    images, annotations = [], []
    categories = [dict(id=i, name=n) for i, n in ((1, 'person'), (3, 'car'),
                                                  (18, 'dog'))]
    for image_id in range(1, 31):
        width, height = (640, 480) if image_id % 3 else (480, 640)
        images.append(dict(id=image_id, file_name=f'{image_id:012d}.jpg',
                           width=width, height=height))
        boxes = []
        for k in range(rng.randint(5, 40)):  # a crowd: one size, in a row
            boxes.append([rng.uniform(0, width - 40) // 1 + k % 3,
                          rng.uniform(0, height - 90), 38.5, 88.25])
        boxes += [[0, 0, 25.5, 60], [width - 30, 10, 30, 50],  # edges
                  [12.3, height - 40, 50, 40],
                  [width - 20.5, 100, 22, 40],  # 1.5 px past
                  [5, 7, width - 10, height - 9]]  # large: fits as corners
        for box in boxes:
            annotations.append(dict(
                id=len(annotations) + 1, image_id=image_id,
                category_id=rng.choice((1, 3, 18)), bbox=box,
                area=box[2] * box[3] * 0.7, iscrowd=0))
        annotations.append(dict(
            id=len(annotations) + 1, image_id=image_id, category_id=1,
            bbox=[100, 100, 200, 150], area=20000, iscrowd=1,
            segmentation=dict(size=[height, width], counts='abc')))
    return dict(images=images, annotations=annotations,
                categories=categories)


def test_a_crowded_coco_like_file_with_boxes_on_the_edges_gives_no_note(
        tmp_path, monkeypatch):
    monkeypatch.setattr(data_check, 'IMAGE_SAMPLE', 0)  # no image files
    (tmp_path / 'ann.json').write_text(json.dumps(_crowded_coco_like()))
    cfg = ConfigDict(train_dataloader=dict(dataset=dict(
        type='CocoDataset', data_root=str(tmp_path), ann_file='ann.json',
        metainfo=dict(classes=('person', 'car', 'dog')))))
    assert check_coco_data(cfg) == ([], [])


# ------------------------------------------------- real converters' files


def _read_the_same(truth, read, tolerance=1.5):
    """The same class names, and boxes within ``tolerance`` px (VOC's
    integer corners), per image file."""
    if set(truth) != set(read):
        return False
    for name, instances in truth.items():
        left = list(read[name])
        if len(left) != len(instances):
            return False
        for label, box in instances:
            match = [i for i, (other, b) in enumerate(left)
                     if other == label and
                     max(abs(p - q) for p, q in zip(box, b)) <= tolerance]
            if not match:
                return False
            left.pop(match[0])
    return True


#: converted file -> what the check refuses it for (None: quiet)
CONVERTED_FILES = {
    'supervision-yolo.json': None,
    'supervision-voc.json': 'lists these categories in the order',
    'supervision-labelme.json': 'lists these categories in the order',
    'globox-yolo.json': 'lists these categories in the order',
    'globox-voc.json': 'lists these categories in the order',
    'globox-labelme.json': 'lists these categories in the order',
    'labelme2coco-labelme.json': 'lists these categories in the order',
    'datumaro-yolo.json': 'have an id used before in the file',
    'datumaro-voc.json': 'have an id used before in the file',
    'datumaro-yolo-reindex.json': None,
    'datumaro-voc-reindex.json': None,
    'pylabel-yolo.json': 'lists these categories in the order',
    'pylabel-voc.json': 'lists these categories in the order',
}


def test_every_converted_file_is_listed():
    assert sorted(osp.basename(f) for f in glob.glob(
        osp.join(CONVERTED, '*.json'))) == sorted(CONVERTED_FILES)


@pytest.fixture(scope='module')
def converted_truth(tmp_path_factory):
    """mmdet's reading of the toy train split the converted files came
    from (tests/converted/README.md)."""
    from toy_shapes import generate_toy_coco
    root = tmp_path_factory.mktemp('exported')
    generate_toy_coco(str(root), num_train=8, num_val=2, image_size=96,
                      seed=0)
    return _mmdet_reads(root / 'annotations' / 'instances_train.json')


@pytest.mark.parametrize('name', sorted(CONVERTED_FILES))
def test_the_check_speaks_exactly_where_mmdet_reads_otherwise(
        name, converted_truth, tmp_path, monkeypatch):
    """Each converter's COCO file of the toy set's YOLO / VOC / LabelMe
    export: refused exactly where mmdet's CocoDataset reads other labels
    or boxes than labelled (or fails), quiet where it reads the same."""
    monkeypatch.setattr(data_check, 'IMAGE_SAMPLE', 0)  # JSON only
    path = tmp_path / name
    shutil.copy(osp.join(CONVERTED, name), path)
    cfg = ConfigDict(train_dataloader=dict(dataset=dict(
        type='CocoDataset', data_root='', ann_file=str(path),
        metainfo=dict(classes=CLASSES))))
    problems, notes = check_coco_data(cfg)
    try:
        same = _read_the_same(converted_truth, _mmdet_reads(path))
    except AssertionError:  # 'Annotation ids ... are not unique!'
        same = False
    assert bool(problems) == (not same)
    expected = CONVERTED_FILES[name]
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1 and expected in problems[0], problems
    # datumaro's VOC import adds a 'background' label: its only note
    assert notes == ([
        f"{path}: categories ['background'] are not classes of "
        'train_dataloader.dataset; their annotations are ignored']
        if name.startswith('datumaro-voc') else [])


# ---------------------------------------- checkpoints and WS, partial WS


def _toy_model_cfg(**backbone):
    cfg = Config.fromfile(TOY_MASK_RCNN)
    cfg.model.backbone.update(backbone)
    return cfg


TORCHVISION_NOTE = (
    'model.backbone.init_cfg.checkpoint is {ckpt}, by its name weights '
    'trained without weight standardization, but the convs of '
    'model.backbone are WSConv2d: '
    'they standardize each loaded filter, which then computes another '
    'function than the one it was trained for (GN+WS detectors train '
    'markedly worse without WS-pretrained weights){frozen}. {fix}')
FROZEN_1 = ('; frozen_stages=1 keeps the stem and stage 1 at those weights, '
            'never trained as WS, for the whole run')
JHU_50 = ('Use open-mmlab://jhu/resnet50_gn_ws, the GN+WS ImageNet '
          'checkpoint of ResNet-50')


@pytest.mark.parametrize('ckpt, backbone, note', [
    ('torchvision://resnet50', dict(depth=50, frozen_stages=1),
     TORCHVISION_NOTE.format(ckpt='torchvision://resnet50', frozen=FROZEN_1,
                             fix=JHU_50)),
    ('open-mmlab://resnet50_v1c', dict(depth=50, frozen_stages=-1),
     TORCHVISION_NOTE.format(ckpt='open-mmlab://resnet50_v1c', frozen='',
                             fix=JHU_50)),
    ('torchvision://resnet18', dict(depth=18, frozen_stages=-1),
     TORCHVISION_NOTE.format(
         ckpt='torchvision://resnet18', frozen='',
         fix='No GN+WS checkpoint of this backbone is published '
         '(open-mmlab://jhu/ has ResNet-50/101 and ResNeXt-50/101 32x4d): '
         'train it from scratch (init_cfg=None, frozen_stages=-1)')),
    ('open-mmlab://jhu/resnet50_gn_ws', dict(depth=50), None),
    ('work_dirs/mine/epoch_12.pth', dict(depth=50), None),  # not judged
    ('torchvision://resnet50', dict(depth=50, conv_cfg=dict(type='ConvAWS')),
     None),  # converts plain weights as it loads them
])
def test_a_checkpoint_without_ws_loaded_into_ws_convs_is_noted(ckpt,
                                                               backbone,
                                                               note):
    cfg = _toy_model_cfg(init_cfg=dict(type='Pretrained', checkpoint=ckpt),
                         **backbone)
    assert checkpoint_notes(cfg) == ([note] if note else [])


def test_load_from_a_detector_without_ws_is_noted():
    cfg = _toy_model_cfg()
    cfg.load_from = ('https://download.openmmlab.com/mmdetection/v2.0/'
                     'mask_rcnn/mask_rcnn_r50_fpn_1x_coco/'
                     'mask_rcnn_r50_fpn_1x_coco_20200205-d4b0c5d6.pth')
    notes = checkpoint_notes(cfg)
    assert notes == [
        f'load_from is {cfg.load_from}, a published checkpoint without "ws" '
        'in its name (by its name, trained without weight standardization), '
        'but the '
        'convs of model.backbone, model.neck, model.roi_head.bbox_head and '
        '1 more are WSConv2d: they standardize each loaded filter, which '
        "then computes another function than the one it was trained for. "
        "Load a GN+WS detector's checkpoint (mmdet's configs/gn+ws) or none"]
    cfg.load_from = ('https://download.openmmlab.com/mmdetection/v2.0/gn%2Bws'
                     '/mask_rcnn_r50_fpn_gn_ws-all_2x_coco/'
                     'mask_rcnn_r50_fpn_gn_ws-all_2x_coco_20200226.pth')
    assert checkpoint_notes(cfg) == []


def test_the_config_check_returns_the_checkpoint_note():
    cfg = _toy_model_cfg(depth=50, frozen_stages=1, init_cfg=dict(
        type='Pretrained', checkpoint='torchvision://resnet50'))
    assert check_config(cfg, check_paths=False) == [
        TORCHVISION_NOTE.format(ckpt='torchvision://resnet50',
                                frozen=FROZEN_1, fix=JHU_50)]


def test_partial_ws_of_rtmdets_cspnext_is_noted():
    """CSPNeXt builds its stem and each block's first conv without
    conv_cfg: 26 of its 37 convs become WS."""
    import mmdet
    cfg = Config.fromfile(osp.join(
        osp.dirname(mmdet.__file__), '.mim', 'configs', 'rtmdet',
        'rtmdet_tiny_8xb32-300e_coco.py'))
    cfg.model.backbone.conv_cfg = dict(type='WSConv2d')
    cfg.model.backbone.init_cfg = None
    assert check_config(cfg, check_paths=False) == [
        'model.backbone.conv_cfg is WSConv2d, but 11 of the 37 convs of '
        'model.backbone (CSPNeXt) are plain nn.Conv2d, built without that '
        'conv_cfg: e.g. stem.0.conv, stem.1.conv, stem.2.conv, '
        'stage1.1.blocks.0.conv1.conv; only 26 are weight-standardized']


def test_mmdets_gn_ws_mask_rcnn_is_all_ws_but_its_predictors():
    """mmdet's GN+WS Mask R-CNN: every conv of backbone, neck and heads is
    WS except the heads' own output layers, which are not counted."""
    import mmdet
    from mmdet.registry import MODELS
    cfg = Config.fromfile(osp.join(
        osp.dirname(mmdet.__file__), '.mim', 'configs', 'gn+ws',
        'mask-rcnn_r50_fpn_gn-ws-all_2x_coco.py'))
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    assert partial_ws_notes(cfg, model) == []
    assert type(model.roi_head.mask_head.conv_logits).__name__ == 'Conv2d'
