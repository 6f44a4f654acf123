"""Check the COCO-format data a config will read, before anything runs.

:func:`check_coco_data` parses each split's annotation file once, on its
own (mmdet parses the file again when it builds the dataset; the parse is
dropped as soon as the file is checked), and returns ``(problems,
notes)``: problems stop the run before any Runner exists
(:mod:`mmdet_eps_l2.tools.check`), notes are printed and training goes on.

Problems (each names the file or config key, what was expected and what
was found):

* the annotation file is not valid JSON (file, line, column);
* it lacks ``images``, ``annotations`` or ``categories``;
* its ``images`` list is empty (mmdet would build the model, then fail
  when it builds the dataloader: ``ValueError: need at least one array to
  concatenate`` of mmengine's ``BaseDataset._serialize_data``);
* entries no reader gets past or reads as meant (:func:`malformed_entries`):
  not JSON objects, lacking a key the COCO index or mmdet reads (image
  ``id``, ``file_name``, ``width``, ``height``; annotation ``id``,
  ``image_id``, ``category_id``; category ``id``, ``name``), ids that are
  not numbers or strings, a ``width`` / ``height`` that is not a number, an
  image or category id used twice, an ``image_id`` / ``category_id`` of
  another type than the ids it refers to, an ``iscrowd`` / ``ignore`` that
  is not 0, 1, true or false;
* annotations mmdet or COCOeval cannot read (:func:`annotation_counts`):
  an ``id`` used twice; of the file's images, a ``bbox`` that is not 4
  numbers or no ``area`` where mmdet reads them (not for ``ignore``
  annotations, nor ``area`` for boxes outside the image), and in a val /
  test file, which COCOeval reads whole, any of them or ``iscrowd``
  missing; under a pipeline that loads masks, annotations mmdet keeps
  without a segmentation (``KeyError: 'mask'`` in ``LoadAnnotations``),
  with one that is neither polygons nor RLE, or with an RLE whose ``size``
  is not its image's;
* a training split with ``filter_empty_gt`` in which no image has an
  annotation of the classes (no samples left);
* a class of the dataset's ``metainfo`` is not among its categories (the
  closest category names are given: case, spaces, plurals, spelling);
* the mistakes of labelling tools and converters that mmdet reads without
  an error (:mod:`.export_mistakes`): a file whose ``categories`` list the
  classes in another order than ``metainfo.classes`` (mmdet numbers labels
  by the file's order) or than another file of the config, boxes written
  as ``[x1, y1, x2, y2]`` (when the count leaves no doubt), one
  ``file_name`` under two image ids;
* a head's ``num_classes`` differs from the number of classes (box heads,
  cascade stages included, mask heads, single-stage heads);
* of :data:`IMAGE_SAMPLE` image files (evenly spaced over ``images``):
  those that do not exist and those mmcv cannot decode.  Each sampled
  file is decoded as the dataset's ``LoadImageFromFile`` decodes it
  (``mmcv.imfrombytes`` with its ``color_type`` and ``imdecode_backend``,
  cv2 by default), so a file the check accepts is one mmcv loads.  A
  file cut to half its bytes fails here: ``cv2.imdecode`` (OpenCV 5.0)
  returns ``None`` for such a PNG and such a JPEG, although
  ``cv2.imread`` reads that JPEG, which is why the check does not use it.

Only the sample is decoded.  An unreadable image outside it stops
training (or the validation / test loop) at the iteration whose batch
holds it, the first time the sampler reaches it, in mmcv 2.1.0's
``LoadImageFromFile.transform`` (the one mmdet 3.3's pipelines use):

* a file that decodes to ``None`` (a truncated PNG / JPEG) fails its
  ``assert img is not None`` with ``AssertionError: failed to load image:
  <path>``, whatever ``ignore_empty`` says;
* a file that is missing or whose reading or decoding raises (an empty
  file: ``cv2.imdecode`` raises on an empty buffer) raises that error; with
  ``ignore_empty=True`` the transform returns ``None`` instead and mmengine's
  ``BaseDataset.__getitem__`` takes another, random image in training (up
  to ``max_refetch`` = 1000 times), but raises ``Exception: Test time
  pipline should not get `None` data_sample`` in validation and testing
  (``test_mode``).

With ``num_workers > 0`` the error comes back from the DataLoader worker
(``Caught AssertionError in DataLoader worker process N``).  Images that
``filter_cfg`` drops from training (``filter_empty_gt``: those without
annotations of the classes) are never loaded there.

Notes: categories of the file that are not classes (their annotations are
ignored); the converters' mistakes that are noted, not refused
(:mod:`.export_mistakes`: boxes past their image that fit as corners, too
few to tell; annotations repeated; category ids shifted by a constant);
and, in one line per file, what mmdet drops or ignores, counted
(only the counts that are not zero; :func:`annotation_counts`):
annotations whose ``category_id`` is none of the file's categories (the
ids named) or whose ``image_id`` is none of its images, boxes mmdet drops
(outside the image, under 1 px, ``area <= 0``), polygons
``LoadAnnotations`` drops (under a mask pipeline), images without an
annotation of the classes, and sampled images that decode to another size
than the file declares.  A file without ``"info"`` is fine.
"""
import contextlib
import gc
import json
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from .export_mistakes import (ClassOrder, class_order, class_order_problems,
                              closest_names, export_mistakes, shown)

#: image files decoded per annotation file (evenly spaced)
IMAGE_SAMPLE = 20
#: keys every COCO instances file must have
REQUIRED_KEYS = ('images', 'annotations', 'categories')
#: model config keys of heads whose ``num_classes`` must match the data
CLASS_HEADS = ('bbox_head', 'mask_head')
#: unknown category ids named in the note (the count covers all)
NAMED_IDS = 10


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


@contextlib.contextmanager
def _gc_paused():
    """No cyclic garbage collection inside: a parse creates millions of
    dicts and lists, and the collections they trigger would double its
    time (COCO train2017's size: 7 s instead of 3.5 s with orjson)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse_json(path: str):
    """The file parsed with orjson when installed (several times faster on
    large files), else with json; on invalid JSON, json's error (line and
    column) either way."""
    try:
        import orjson
    except ImportError:
        with open(path, encoding='utf-8') as f, _gc_paused():
            return json.load(f)
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        with _gc_paused():
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


def _no_images(path: str, data: dict) -> List[str]:
    if data['images']:
        return []
    return [f'{path}: "images" is empty (expected at least one image): the '
            'dataset would have no samples and mmdet would fail after '
            'building the model (ValueError: need at least one array to '
            'concatenate)']


#: keys pycocotools' ``COCO`` index and mmdet 3.3's ``CocoDataset`` read
#: from every entry of a file (a ``KeyError`` after the model is built)
REQUIRED_ENTRY_KEYS = dict(
    images=('id', 'file_name', 'width', 'height'),
    annotations=('id', 'image_id', 'category_id'),
    categories=('id', 'name'))
_NUMBER = (int, float)
#: the types those values must have (ids are dict keys of the COCO index)
VALUE_TYPES = dict(
    width=(_NUMBER, 'a number'), height=(_NUMBER, 'a number'),
    file_name=((str, ), 'a string'),
    **dict.fromkeys(('id', 'image_id', 'category_id'),
                    ((int, float, str), 'a number or a string')))


def _example(indices: List[int], key: str) -> str:
    return f'{len(indices)} {key} entries, e.g. {key}[{indices[0]}]'


def malformed_entries(path: str, data: dict) -> List[str]:
    """Entries no reader of the file gets past or that it reads otherwise
    than meant: not JSON objects, lacking a key of
    :data:`REQUIRED_ENTRY_KEYS`, an id that is not a number or a string, an
    image ``width`` / ``height`` that is not a number; then an image or
    category id used twice, a reference of another type than the ids it
    refers to, a flag (:data:`FLAGS`) that is not 0 / 1 / true / false."""
    problems = []
    for key, required in REQUIRED_ENTRY_KEYS.items():
        entries, needed = data[key], set(required)
        odd = [i for i, e in enumerate(entries)
               if type(e) is not dict or not needed <= e.keys()]
        not_dicts = [i for i in odd if not isinstance(entries[i], dict)]
        if not_dicts:
            problems.append(
                f'{path}: {_example(not_dicts, key)} are not JSON objects '
                f'(found {type(entries[not_dicts[0]]).__name__})')
            continue
        for name in required:
            lacking = [i for i in odd if name not in entries[i]]
            if lacking:
                problems.append(
                    f'{path}: {_example(lacking, key)} lack "{name}" '
                    "(pycocotools' COCO or mmdet's CocoDataset reads it: "
                    'KeyError after the model is built)')
        if odd:
            continue
        for name in required:
            if name not in VALUE_TYPES:
                continue
            kinds, what = VALUE_TYPES[name]
            wrong = [i for i, e in enumerate(entries)
                     if type(e[name]) not in kinds]
            if wrong:
                problems.append(
                    f'{path}: {_example(wrong, key)} have a "{name}" that '
                    f'is not {what} (found {entries[wrong[0]][name]!r})')
    if problems:
        return problems
    return (_repeated_ids(path, data) + _reference_types(path, data) +
            _flag_values(path, data))


def _repeated_ids(path: str, data: dict) -> List[str]:
    """An image or category id used twice: pycocotools' COCO index keeps
    the last entry of each id, so the others are never loaded (and, in a
    val / test file, the metric scores other images than the file lists).
    Annotation ids: :func:`annotation_counts`."""
    problems = []
    for key in ('images', 'categories'):
        seen, repeated = {}, []
        for i, entry in enumerate(data[key]):
            if entry['id'] in seen:
                repeated.append(i)
            seen.setdefault(entry['id'], i)
        if repeated:
            i = repeated[0]
            problems.append(
                f'{path}: {_example(repeated, key)} repeat the id of an '
                f"earlier entry ({key}[{i}] and {key}"
                f"[{seen[data[key][i]['id']]}] have id "
                f"{data[key][i]['id']!r}): pycocotools' COCO index keeps one "
                'entry per id, so mmdet loads and evaluates the last one only')
    return problems


def _reference_types(path: str, data: dict) -> List[str]:
    """An annotation's ``image_id`` / ``category_id`` of another type
    than the ids it refers to (``"2"`` for the category of id ``2``): the
    COCO index matches ids by value and type, so mmdet drops the
    annotation."""
    problems = []
    for name, key in (('image_id', 'images'), ('category_id', 'categories')):
        types = {type(e['id']) for e in data[key]}
        if not types:
            continue  # no images: refused as such
        if float in types:
            types.add(int)  # 2 and 2.0 are the same dict key
        wrong = [i for i, a in enumerate(data['annotations'])
                 if type(a[name]) not in types and
                 not (type(a[name]) is float and int in types)]
        if wrong:
            value = data['annotations'][wrong[0]][name]
            problems.append(
                f'{path}: {_example(wrong, "annotations")} have a "{name}" '
                f'of another type than the ids of the {key} (found '
                f'{value!r}, a {type(value).__name__}; the ids are '
                f'{" or ".join(sorted(t.__name__ for t in types))}): the '
                'COCO index matches ids by value and type, so mmdet would '
                'drop them')
    return problems


#: annotation flags mmdet tests for truth (``if ann.get('iscrowd')``)
FLAGS = ('iscrowd', 'ignore')


def _flag_values(path: str, data: dict) -> List[str]:
    """A flag mmdet tests for truth that is not 0, 1, true or false: the
    string ``"0"`` is true, and the annotation would be ignored."""
    problems = []
    for name in FLAGS:
        wrong = [i for i, a in enumerate(data['annotations'])
                 if a.get(name) not in (0, 1, None)]
        if wrong:
            value = data['annotations'][wrong[0]][name]
            problems.append(
                f'{path}: {_example(wrong, "annotations")} have an '
                f'"{name}" that is not 0, 1, true or false (found '
                f"{value!r}; mmdet tests it for truth, so {value!r} counts "
                f'as {bool(value)})')
    return problems


def _polygon_list(seg) -> bool:
    return all(type(poly) is list for poly in seg)


def _dropped_polygons(seg: list) -> int:
    """Polygons mmdet's ``LoadAnnotations`` drops: fewer than 6
    coordinates, or an odd number of them."""
    return sum(1 for poly in seg if len(poly) < 6 or len(poly) % 2)


#: per-annotation problems of :func:`annotation_counts`, with what they
#: break
ANNOTATION_PROBLEMS = dict(
    unreadable_boxes="a bbox that is not [x, y, w, h], 4 numbers (mmdet's "
    'CocoDataset unpacks it; COCOeval reads it)',
    missing_areas="no number as area (mmdet's CocoDataset reads it for boxes "
    'inside the image, COCOeval for every ground truth: KeyError or '
    'TypeError)',
    missing_iscrowd='no "iscrowd" (absent or null; COCOeval reads it as an '
    'int for every ground truth of the val / test file: KeyError or '
    'TypeError at the first evaluation)',
    repeated_ids="an id used before in the file (pycocotools' COCO index "
    'keeps the last annotation of each id: mmdet loads it in place of the '
    "others, or asserts 'Annotation ids ... are not unique')",
    maskless_instances='no segmentation (absent or empty) although mmdet '
    "keeps them and the pipeline loads masks: LoadAnnotations(with_mask=True) "
    "raises KeyError: 'mask' on their images; give them polygons, drop them, "
    'or train a box-only model',
    unreadable_segmentations='a segmentation that is neither a list of '
    'polygons ([[x1, y1, x2, y2, ...], ...]) nor an RLE dict, under a '
    "pipeline that loads masks (mmdet's LoadAnnotations fails on it)",
    misfit_rles='an RLE segmentation whose "size" is not its image\'s '
    '[height, width], under a pipeline that loads masks (pycocotools '
    "raises ValueError: Invalid RLE mask representation in mmdet's "
    'LoadAnnotations)',
)


def annotation_counts(data: dict, class_names: Optional[Sequence[str]] = None,
                      with_mask: bool = False,
                      evaluated: bool = False) -> Dict[str, object]:
    """The annotations of a file that passed :func:`malformed_entries`, in
    one pass, by mmdet 3.3's ``CocoDataset.parse_data_info`` (and, with
    ``evaluated``, COCOeval's reading of the ground truth); classes: the
    categories named ``class_names``, all of them when None.

    The problems of :data:`ANNOTATION_PROBLEMS` (each a count, and its
    first annotation's index in ``first``): an ``id`` used twice in the
    file; and, of the annotations of the file's images (mmdet and COCOeval
    never read the others: ``orphan_annotations`` counts those), a bbox
    that is not 4 numbers (unless ``ignore``, which mmdet skips first; any,
    when ``evaluated``), an ``area`` that is not a number where it is
    read, no ``iscrowd`` (``evaluated``); with ``with_mask`` (a
    ``LoadAnnotations(with_mask=True)`` pipeline), instances mmdet keeps
    (box kept, category a class) without a segmentation or with one that
    is neither polygons nor RLE.  And what mmdet drops, for the notes:

    * ``unknown_category_annotations``: a ``category_id`` that is the id of
      none of the categories, and those ids (``unknown_category_ids``,
      sorted);
    * ``dropped_boxes`` (of the known categories): boxes
      ``parse_data_info`` skips (no overlap with the image, ``w < 1`` or
      ``h < 1``, or ``area <= 0``);
    * ``dropped_polygons`` (``with_mask``): fewer than 6 coordinates or an
      odd number (an instance left without a polygon is ignored);
    * ``images_without_class_annotations``: images without an annotation
      of the classes (``filter_cfg.filter_empty_gt`` drops them), of
      ``images``.
    """
    sizes = {img['id']: (img['width'], img['height'])
             for img in data['images']}
    known = {c['id'] for c in data['categories']}
    class_ids = known if class_names is None else {
        c['id'] for c in data['categories'] if c['name'] in class_names}
    with_class, seen_ids = set(), set()
    unknown: Dict[object, int] = {}
    bad = dict.fromkeys(ANNOTATION_PROBLEMS, 0)
    first: Dict[str, int] = {}
    orphans = dropped = polygons = 0

    def problem(kind: str, index: int) -> None:
        bad[kind] += 1
        first.setdefault(kind, index)

    # 860k annotations (COCO train2017): about 3 s
    for i, ann in enumerate(data['annotations']):
        if ann['id'] in seen_ids:
            problem('repeated_ids', i)
        seen_ids.add(ann['id'])
        size = sizes.get(ann['image_id'])
        if size is None:
            orphans += 1
            continue
        category = ann['category_id']
        if category not in known:
            unknown[category] = unknown.get(category, 0) + 1
        elif category in class_ids:
            with_class.add(ann['image_id'])
        if evaluated and ann.get('iscrowd') is None:
            problem('missing_iscrowd', i)
        ignored = ann.get('ignore', False)
        if ignored and not evaluated:
            continue
        box, area = ann.get('bbox'), ann.get('area')
        if not (type(box) is list and len(box) == 4 and
                type(box[0]) in _NUMBER and type(box[1]) in _NUMBER and
                type(box[2]) in _NUMBER and type(box[3]) in _NUMBER):
            problem('unreadable_boxes', i)
            continue
        x, y, w, h = box
        width, height = size
        if not (type(area) in _NUMBER and area > 0 and x >= 0 and y >= 0
                and w >= 1 and h >= 1 and x + w <= width and
                y + h <= height):  # not the common case: a box inside
            inside_w = max(0, min(x + w, width) - max(x, 0))
            inside_h = max(0, min(y + h, height) - max(y, 0))
            if type(area) not in _NUMBER:
                if evaluated or inside_w * inside_h:
                    problem('missing_areas', i)
                continue
            if inside_w * inside_h == 0 or area <= 0 or w < 1 or h < 1:
                if not ignored and category in known:
                    dropped += 1
                continue
        if ignored or category not in known:
            continue  # mmdet skips these (after reading the box)
        if with_mask and category in class_ids:
            seg = ann.get('segmentation')
            if type(seg) is list and len(seg) == 1 and \
                    type(seg[0]) is list and len(seg[0]) >= 6 and \
                    not len(seg[0]) % 2:
                continue  # the common case: one polygon
            if not seg:
                problem('maskless_instances', i)
            elif type(seg) is list:
                if _polygon_list(seg):
                    polygons += _dropped_polygons(seg)
                else:
                    problem('unreadable_segmentations', i)
            elif type(seg) is not dict:
                problem('unreadable_segmentations', i)
            elif seg.get('size') != [size[1], size[0]]:
                problem('misfit_rles', i)
    return dict(
        bad, first=first,
        unknown_category_annotations=sum(unknown.values()),
        unknown_category_ids=_sorted(unknown),
        images=len(sizes), orphan_annotations=orphans, dropped_boxes=dropped,
        dropped_polygons=polygons,
        images_without_class_annotations=len(sizes) - len(with_class))


def _sorted(values) -> list:
    """Numbers in order, then anything else."""
    def key(v):
        number = type(v) in _NUMBER
        return (not number, v if number else repr(v))

    return sorted(values, key=key)


def _counts_note(path: str, counts: Dict[str, object]) -> List[str]:
    """The one-line note of :func:`annotation_counts`, non-zero counts only
    (the problems are not notes)."""
    ids = counts['unknown_category_ids']
    named = ', '.join(map(str, ids[:NAMED_IDS])) + \
        (f' and {len(ids) - NAMED_IDS} more' if len(ids) > NAMED_IDS else '')
    parts = [
        (counts['unknown_category_annotations'], 'annotations whose '
         f'category_id is not among the categories (ids: {named}; mmdet '
         'drops them)'),
        (counts['orphan_annotations'], 'annotations whose image_id is none '
         'of the images (never loaded)'),
        (counts['dropped_boxes'], 'boxes mmdet drops (outside the image, '
         'width or height < 1, or area <= 0)'),
        (counts['dropped_polygons'], "polygons mmdet's LoadAnnotations "
         'drops (fewer than 3 points or an odd number of coordinates; an '
         'instance left without a polygon is ignored)'),
        (counts['images_without_class_annotations'], 'images without an '
         'annotation of the classes (filter_cfg decides whether they '
         'train)'),
    ]
    text = '; '.join(f'{n} {what}' for n, what in parts if n)
    return [f'{path}: {text}'] if text else []


def _count_problems(where: str, path: str, dataset: dict,
                    counts: Dict[str, object]) -> List[str]:
    """The annotations mmdet or COCOeval cannot read, and a training split
    that ``filter_empty_gt`` empties."""
    problems = [
        f'{where}: {counts[kind]} annotations of {path}, e.g. '
        f"annotations[{counts['first'][kind]}], have {what}"
        for kind, what in ANNOTATION_PROBLEMS.items() if counts[kind]]
    filter_cfg = dataset.get('filter_cfg') or {}
    if where.startswith('train_dataloader') and \
            filter_cfg.get('filter_empty_gt', False) and \
            counts['images_without_class_annotations'] == counts['images']:
        problems.append(
            f'{where}: no image of {path} has an annotation of the classes, '
            'and filter_cfg.filter_empty_gt=True drops such images: training '
            'would have no samples (mmdet: ValueError: need at least one '
            'array to concatenate, after building the model)')
    return problems


def _check_classes(where: str, path: str, classes, names: List[str]
                   ) -> Tuple[List[str], List[str]]:
    """Classes missing from the categories (with the closest category
    names: case, spaces, plurals, spelling) and categories that are not
    classes; long lists are cut (:func:`~.export_mistakes.shown`)."""
    missing = [c for c in classes if c not in names]
    extra = [n for n in names if n not in classes]
    if missing:
        close = closest_names(missing, extra or names)
        hint = ', '.join(f'{c!r} -> {n!r}' for c, n in close)
        hint = f'closest categories: {hint}; ' if hint else ''
        return [f'{where}.metainfo.classes: {missing} not among the '
                f'categories of {path} ({hint}its categories: '
                f'{shown(names)}; not classes: {shown(extra)})'], []
    if extra:
        return [], [f'{path}: categories {shown(extra)} are not classes of '
                    f'{where}; their annotations are ignored']
    return [], []


def type_name(value) -> str:
    """A config ``type`` as a name: the string of a text config, the class
    name of a pure-Python config."""
    return value if isinstance(value, str) else getattr(
        value, '__name__', str(value))


def _image_loading(dataset: dict) -> dict:
    """``color_type`` and ``imdecode_backend`` of the dataset pipeline's
    ``LoadImageFromFile`` (mmcv's defaults without one)."""
    loading = dict(color_type='color', imdecode_backend='cv2')
    for step in dataset.get('pipeline') or []:
        if isinstance(step, dict) and \
                type_name(step.get('type')).endswith('LoadImageFromFile'):
            loading.update({k: step[k] for k in loading if k in step})
            break
    return loading


def _loads_masks(dataset: dict) -> bool:
    """Whether the dataset pipeline's ``LoadAnnotations`` loads masks."""
    return any(isinstance(step, dict) and
               type_name(step.get('type')).endswith('LoadAnnotations') and
               step.get('with_mask', False)
               for step in dataset.get('pipeline') or [])


def _decode(file: str, loading: dict):
    """``(why not, None)`` when mmcv cannot decode ``file`` as
    ``LoadImageFromFile`` would, else ``(None, (height, width))``."""
    import mmcv
    try:
        with open(file, 'rb') as f:
            raw = f.read()
        if not raw:
            # cv2.imdecode: Assertion failed !buf.empty()
            return 'empty file', None
        img = mmcv.imfrombytes(raw, flag=loading['color_type'],
                               backend=loading['imdecode_backend'])
    except Exception as e:  # what LoadImageFromFile would raise
        kind = type(e).__qualname__ if type(e).__module__ == 'builtins' \
            else f'{type(e).__module__}.{type(e).__qualname__}'
        return f'{kind}: {str(e).strip()}'.splitlines()[0], None
    if img is None:
        return 'decodes to None', None
    return None, img.shape[:2]


def _check_images(where: str, path: str, dataset: dict,
                  data: dict) -> Tuple[List[str], List[str]]:
    """``(problems, notes)`` of :data:`IMAGE_SAMPLE` images: missing and
    undecodable files are problems; a size other than the ``width`` /
    ``height`` the file declares is a note (mmdet drops boxes by the
    declared size and builds masks at the decoded one; an EXIF orientation
    swaps the two)."""
    images = data['images']
    if not images or IMAGE_SAMPLE <= 0:
        return [], []
    prefix = (dataset.get('data_prefix') or {}).get('img', '')
    folder = _join(dataset.get('data_root') or '', prefix or '')
    step = max(1, len(images) // IMAGE_SAMPLE)
    indices = list(range(0, len(images), step))[:IMAGE_SAMPLE]
    files = [osp.join(folder, images[i].get('file_name', ''))
             for i in indices]
    absent = [f for f in files if not osp.isfile(f)]
    if absent:
        return [f'{where}: {len(absent)} of {len(files)} sampled images of '
                f'{path} do not exist, e.g. {absent[0]} (data_root + '
                'data_prefix.img + file_name)'], []
    loading = _image_loading(dataset)
    decoded = [_decode(f, loading) for f in files]
    failed = [f'{f} ({why})' for f, (why, _) in zip(files, decoded) if why]
    if failed:
        return [f'{where}: {len(failed)} of {len(files)} sampled images of '
                f'{path} cannot be decoded by mmcv.imfrombytes (backend '
                f"'{loading['imdecode_backend']}', as LoadImageFromFile "
                f"reads them): {', '.join(failed)}"], []
    misfit = [(i, shape) for i, (_, shape) in zip(indices, decoded)
              if tuple(shape) != (images[i]['height'], images[i]['width'])]
    if not misfit:
        return [], []
    i, (h, w) = misfit[0]
    return [], [f'{path}: {len(misfit)} of {len(files)} sampled images '
                'decode to another size than the file declares, e.g. '
                f"images[{i}] ({images[i]['file_name']}) declares "
                f"{images[i]['width']}x{images[i]['height']} and decodes to "
                f'{w}x{h} (width x height; swapped: an EXIF orientation): '
                'mmdet drops boxes outside the declared size and builds '
                'masks at the decoded one']


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
    """``(problems, notes)`` of the data each split will read.

    Each annotation file is parsed once and dropped when every dataset
    reading it is checked: its classes against the file's categories, the
    first one's image sample, the converters' mistakes
    (:func:`~.export_mistakes.export_mistakes`), and the annotations
    (:func:`annotation_counts`) once per way of reading them (classes,
    masks, evaluated or not); then the order of the classes in each file
    (:func:`~.export_mistakes.class_order_problems`)."""
    by_file: Dict[str, List[Tuple[str, dict]]] = {}
    for where, dataset in coco_datasets(cfg, splits):
        path = _join(dataset.get('data_root') or '', dataset['ann_file'])
        if osp.isfile(path):  # a missing one is named by the path check
            by_file.setdefault(path, []).append((where, dataset))
    problems, notes = [], []
    orders: List[ClassOrder] = []
    heads_checked = False
    for path, readers in by_file.items():
        data, errors = load_annotation_file(path)
        if data is not None:
            errors = _no_images(path, data) + malformed_entries(path, data)
        problems += [f'{readers[0][0]}.ann_file: {e}' for e in errors]
        if errors:
            continue
        names = [c['name'] for c in data['categories']]
        image_problems, image_notes = _check_images(readers[0][0], path,
                                                    readers[0][1], data)
        problems += image_problems
        notes += image_notes
        mistakes, mistake_notes, evidence = export_mistakes(path, data)
        problems += [f'{readers[0][0]}.ann_file: {p}' for p in mistakes]
        notes += mistake_notes
        done = set()
        for where, dataset in readers:
            classes = dataset_classes(dataset)
            if classes:
                p, n = _check_classes(where, path, classes, names)
                problems += p
                notes += n
                orders.append(class_order(where, path, classes,
                                          data['categories'], evidence))
                if not heads_checked:
                    heads_checked = True
                    problems += _check_heads(cfg, where, classes)
            how = (classes, _loads_masks(dataset),
                   not where.startswith('train_dataloader'))
            if how not in done:
                done.add(how)
                counts = annotation_counts(data, *how)
                problems += _count_problems(where, path, dataset, counts)
                notes += _counts_note(path, counts)
        del data  # not kept: mmdet parses the file again, on its own
    problems += class_order_problems(orders)
    return problems, list(dict.fromkeys(notes))


def _check_heads(cfg, where: str, classes) -> List[str]:
    """Heads whose ``num_classes`` is not the number of classes."""
    return [f'{key} is {num} but {where} has {len(classes)} classes '
            f'{list(classes)}: set {key}={len(classes)}'
            for key, num in head_num_classes(cfg.get('model') or {})
            if num != len(classes)]
