"""Check the COCO-format data a config will read, before anything runs.

:func:`check_coco_data` reads each split's annotation file once and
returns ``(problems, notes)``: problems stop the tools before a work dir
exists, notes are printed and training goes on.

Problems (each names the file or config key, what was expected and what
was found):

* the annotation file is not valid JSON (file, line, column);
* it lacks ``images``, ``annotations`` or ``categories``;
* a class of the dataset's ``metainfo`` is not among its categories;
* a head's ``num_classes`` differs from the number of classes (box heads,
  cascade stages included, mask heads, single-stage heads);
* sampled image files do not exist.

Notes: categories of the file that are not classes (their annotations are
ignored), and, in one line per file, the counts of degenerate boxes
(width or height ≤ 0), empty segmentations and images without
annotations.  A file without ``"info"`` is fine, and each parsed file is
handed to mmdet's COCO wrapper so that it is not parsed twice (see
:mod:`mmdet_eps_l2.utils.coco_info`).
"""
import json
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from .coco_info import remember_parsed

#: image files checked per annotation file (evenly spaced)
IMAGE_SAMPLE = 20
#: keys every COCO instances file must have
REQUIRED_KEYS = ('images', 'annotations', 'categories')
#: model config keys of heads whose ``num_classes`` must match the data
CLASS_HEADS = ('bbox_head', 'mask_head')


def _leaf_datasets(dataset, where: str) -> Iterator[Tuple[str, dict]]:
    """The datasets under wrappers (RepeatDataset, ConcatDataset, ...)."""
    if isinstance(dataset, (list, tuple)):
        for i, d in enumerate(dataset):
            yield from _leaf_datasets(d, f'{where}[{i}]')
    elif isinstance(dataset, dict):
        if 'dataset' in dataset:
            yield from _leaf_datasets(dataset['dataset'], f'{where}.dataset')
        elif 'datasets' in dataset:
            yield from _leaf_datasets(dataset['datasets'],
                                      f'{where}.datasets')
        else:
            yield where, dataset


def split_datasets(cfg, splits: Optional[Sequence[str]] = None
                   ) -> Iterator[Tuple[str, dict]]:
    """``(config key, dataset cfg)`` of each dataloader's datasets (those
    inside wrappers), for ``splits`` or all three dataloaders."""
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if splits and split not in splits:
            continue
        loader = cfg.get(split)
        if loader:
            yield from _leaf_datasets(loader.get('dataset'),
                                      f'{split}.dataset')


def coco_datasets(cfg, splits: Optional[Sequence[str]] = None
                  ) -> Iterator[Tuple[str, dict]]:
    """``(config key, dataset cfg)`` of each split's JSON-annotated dataset."""
    for where, dataset in split_datasets(cfg, splits):
        ann = dataset.get('ann_file')
        if isinstance(ann, str) and ann.endswith('.json'):
            yield where, dataset


def _join(root: str, path: str) -> str:
    return path if not root or osp.isabs(path) else osp.join(root, path)


def dataset_classes(dataset: dict) -> Optional[Tuple[str, ...]]:
    """The classes a dataset config trains on: ``metainfo.classes``, else
    the dataset type's default (COCO's 80 for ``CocoDataset``)."""
    metainfo = dataset.get('metainfo') or {}
    if metainfo.get('classes'):
        classes = metainfo['classes']
        return (classes, ) if isinstance(classes, str) else tuple(classes)
    from mmdet.registry import DATASETS
    dataset_type = dataset.get('type')
    cls = DATASETS.get(dataset_type) if isinstance(dataset_type, str) \
        else dataset_type
    default = getattr(cls, 'METAINFO', {}).get('classes')
    return tuple(default) if default else None


def _parse_json(path: str):
    """The file parsed with orjson when installed (several times faster on
    large files), else with json; on invalid JSON, json's error (line and
    column) either way."""
    try:
        import orjson
    except ImportError:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw.decode('utf-8'))  # raises with line / column


def load_annotation_file(path: str) -> Tuple[Optional[dict], List[str]]:
    """The parsed file, or ``None`` and the problems that stop it."""
    try:
        data = _parse_json(path)
    except json.JSONDecodeError as e:
        return None, [f'{path} is not valid JSON: {e.msg} at line '
                      f'{e.lineno} column {e.colno} (character {e.pos})']
    except (OSError, UnicodeDecodeError) as e:
        return None, [f'{path} cannot be read: {e}']
    if not isinstance(data, dict):
        return None, [f'{path}: expected a JSON object with '
                      f'{list(REQUIRED_KEYS)}, found a {type(data).__name__}']
    missing = [k for k in REQUIRED_KEYS if not isinstance(data.get(k), list)]
    if missing:
        return None, [f'{path}: expected the lists {list(REQUIRED_KEYS)}, '
                      f'missing or not a list: {missing}']
    return data, []


def _degenerate_box(ann: dict) -> bool:
    box = ann.get('bbox')
    return not (isinstance(box, list) and len(box) == 4 and box[2] > 0
                and box[3] > 0)


def _empty_segmentation(ann: dict) -> bool:
    if 'segmentation' not in ann:
        return False
    seg = ann['segmentation']
    if isinstance(seg, dict):  # RLE
        return not seg.get('counts')
    return not seg or all(len(poly) < 6 for poly in seg)


def annotation_counts(data: dict) -> Dict[str, int]:
    """Degenerate boxes, empty segmentations, images without annotations."""
    annotated = set()
    degenerate = empty = 0
    for ann in data['annotations']:
        annotated.add(ann.get('image_id'))
        degenerate += _degenerate_box(ann)
        empty += _empty_segmentation(ann)
    unannotated = sum(img.get('id') not in annotated
                      for img in data['images'])
    return dict(degenerate_boxes=degenerate, empty_segmentations=empty,
                images_without_annotations=unannotated)


def _check_classes(where: str, path: str, classes, data: dict
                   ) -> Tuple[List[str], List[str]]:
    names = [c.get('name') for c in data['categories']]
    missing = [c for c in classes if c not in names]
    extra = [n for n in names if n not in classes]
    if missing:
        return [f'{where}.metainfo.classes: {missing} not among the '
                f'categories of {path} (its categories: {names}; not '
                f'classes: {extra})'], []
    if extra:
        return [], [f'{path}: categories {extra} are not classes of '
                    f'{where}; their annotations are ignored']
    return [], []


def _check_images(where: str, path: str, dataset: dict,
                  data: dict) -> List[str]:
    images = data['images']
    if not images or IMAGE_SAMPLE <= 0:
        return []
    prefix = (dataset.get('data_prefix') or {}).get('img', '')
    folder = _join(dataset.get('data_root') or '', prefix or '')
    step = max(1, len(images) // IMAGE_SAMPLE)
    sample = images[::step][:IMAGE_SAMPLE]
    absent = [
        osp.join(folder, img.get('file_name', '')) for img in sample
        if not osp.isfile(osp.join(folder, img.get('file_name', '')))
    ]
    if absent:
        return [f'{where}: {len(absent)} of {len(sample)} sampled images of '
                f'{path} do not exist, e.g. {absent[0]} (data_root + '
                'data_prefix.img + file_name)']
    return []


def head_num_classes(model: dict, where: str = 'model'
                     ) -> Iterator[Tuple[str, int]]:
    """``(config key, num_classes)`` of each class-predicting head."""
    if isinstance(model, dict):
        for key, value in model.items():
            sub = f'{where}.{key}'
            if key in CLASS_HEADS:
                heads = value if isinstance(value, (list, tuple)) \
                    else [value]
                for i, head in enumerate(heads):
                    name = f'{sub}[{i}]' if len(heads) > 1 else sub
                    if isinstance(head, dict) and \
                            isinstance(head.get('num_classes'), int):
                        yield f'{name}.num_classes', head['num_classes']
            elif isinstance(value, dict):
                yield from head_num_classes(value, sub)


def check_coco_data(cfg, splits: Optional[Sequence[str]] = None
                    ) -> Tuple[List[str], List[str]]:
    """``(problems, notes)`` of the data each split will read."""
    problems, notes = [], []
    loaded: Dict[str, Optional[dict]] = {}
    head_checked = False
    for where, dataset in coco_datasets(cfg, splits):
        path = _join(dataset.get('data_root') or '', dataset['ann_file'])
        if not osp.isfile(path):
            continue  # named by the path check
        first_time = path not in loaded
        if first_time:
            loaded[path], errors = load_annotation_file(path)
            problems += [f'{where}.ann_file: {e}' for e in errors]
            if loaded[path] is not None:
                remember_parsed(path, loaded[path])  # mmdet parses it once
        data = loaded[path]
        if data is None:
            continue
        classes = dataset_classes(dataset)
        if classes:
            p, n = _check_classes(where, path, classes, data)
            problems += p
            notes += n
            if not head_checked:
                head_checked = True
                for key, num in head_num_classes(cfg.get('model') or {}):
                    if num != len(classes):
                        problems.append(
                            f'{key} is {num} but {where} has '
                            f'{len(classes)} classes {list(classes)}: set '
                            f'{key}={len(classes)}')
        if first_time:
            problems += _check_images(where, path, dataset, data)
            counts = annotation_counts(data)
            if any(counts.values()):
                notes.append(f'{path}: ' + ', '.join(
                    f"{v} {k.replace('_', ' ')}" for k, v in counts.items()) +
                             ' (mmdet skips degenerate boxes; filter_cfg '
                             'decides about empty images)')
    return problems, notes
