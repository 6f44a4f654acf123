"""The mistakes labelling tools and converters make in COCO files that are
otherwise well formed: each found by counting, refused where the count
leaves no doubt, noted where it only suggests the mistake.

mmdet 3.3's ``CocoDataset`` reads such a file without an error and trains
another detector than the one labelled:

* **category order** (:func:`class_order_problems`, refused): mmdet
  numbers labels by the order of the file's ``categories``, not by
  ``metainfo.classes``.  ``CocoDataset.load_data_list`` takes ``cat_ids =
  coco.get_cat_ids(cat_names=classes)``, and pycocotools' ``getCatIds``
  returns the ids of the matching categories in file order; ``cat2label``
  then gives label ``i`` to the ``i``-th of them, and the model calls label
  ``i`` ``classes[i]``.  A file that lists the classes in another order
  (converters often sort categories by name or by first appearance) trains
  every instance of the moved classes under another class's name; a val /
  test file in another order than the train file is evaluated under
  another mapping (``CocoMetric`` numbers the val file's categories the
  same way).
* **boxes written as corners** (:func:`corner_boxes`): ``[x1, y1, x2, y2]``
  read as ``[x, y, w, h]`` makes every box end at ``x1 + x2, y1 + y2``.
  Counted: boxes that extend more than :data:`EDGE_TOLERANCE` px past their
  image as ``[x, y, w, h]`` but fit inside it as corners (``x1 < x2 <=
  width``, ``y1 < y2 <= height``).  A corner file shows it for every box
  centred in the right or bottom half of its image (about 3 in 4), a valid
  file for (next to) none.  Refused when at least
  :data:`CORNERS_MIN_BOXES` boxes and :data:`CORNERS_MIN_SHARE` of all
  show it and :data:`CORNERS_FIT_SHARE` of all boxes fit as corners; any
  fewer is a note.
* **a repeated file_name** (:func:`repeated_file_names`, refused): one
  image under two ids is loaded once per id, each time with that id's
  annotations only, so the objects annotated under the other id train as
  background.
* **repeated annotations** (noted): the same image, category and ``bbox``
  twice, among the boxes mmdet keeps; mmdet trains on every copy and
  COCOeval counts each as an object to find.
* **category ids shifted by a constant** (noted): the annotations'
  ``category_id`` values are the categories' ids plus a constant (0-based
  annotations under 1-based categories): mmdet drops those of no category
  and trains the others as the category their id names.

:func:`annotation_evidence` gathers the counts in one pass over the
annotations of the file's images.  :func:`closest_names` finds, for a class
that is no category, the category named alike (case, spaces, ``_`` / ``-``,
a plural, else a close spelling).
"""
import difflib
import os.path as osp
import re
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

#: px a box may pass its image's edge before it counts as extending past it
#: (rounding; VOC's 1-based corners converted without the shift)
EDGE_TOLERANCE = 2.0
#: corners are refused from this many boxes that show them ...
CORNERS_MIN_BOXES = 3
#: ... which are at least this share of the boxes ...
CORNERS_MIN_SHARE = 0.2
#: ... while at least this share of all boxes fit as corners
CORNERS_FIT_SHARE = 0.95
#: names listed in a message before "and N more"
SHOWN_NAMES = 10
_NUMBER = (int, float)


class Evidence(NamedTuple):
    """What :func:`annotation_evidence` counts (annotations of the file's
    images; boxes: those of 4 numbers)."""
    boxes: int
    #: boxes that fit inside their image as ``[x1, y1, x2, y2]``
    fit_as_corners: int
    #: boxes past their image as ``[x, y, w, h]`` that fit as corners
    corner_like: int
    #: the first of those: its annotation index
    first_corner_like: Optional[int]
    #: annotations that repeat an earlier one (image, category, bbox),
    #: of those mmdet keeps (not ``ignore``, box inside, ``area > 0``)
    repeats: int
    #: the first repeat: ``(index, index of the annotation it repeats)``
    first_repeat: Optional[Tuple[int, int]]
    #: annotations per ``category_id``
    per_category: Dict[object, int]


def _kept(ann: dict, size) -> bool:
    """Whether mmdet's ``parse_data_info`` keeps the box (not ``ignore``,
    overlapping the image of ``size[:2]``, ``w, h >= 1``, ``area > 0``)."""
    x, y, w, h = ann['bbox']
    area = ann.get('area')
    return not ann.get('ignore', False) and w >= 1 and h >= 1 and \
        x < size[0] and y < size[1] and x + w > 0 and y + h > 0 and \
        type(area) in _NUMBER and area > 0


def _fits_as_corners(box, size) -> bool:
    """Whether ``box`` read as corners lies in the image of ``size[:2]``."""
    x1, y1, x2, y2 = box
    tol = EDGE_TOLERANCE
    return -tol <= x1 < x2 <= size[0] + tol and \
        -tol <= y1 < y2 <= size[1] + tol


def annotation_evidence(data: dict) -> Evidence:
    """One pass over the annotations of ``data``'s images (those of no
    image are never loaded), then a look at the few it picked out.  A box
    that is not 4 numbers is skipped here (refused by
    :func:`~.data.annotation_counts`)."""
    annotations = data['annotations']
    # image id -> (width, height, {(category, *bbox): first annotation}):
    # one small dict per image costs half of one dict of all annotations
    images = {img['id']: (img['width'], img['height'], {})
              for img in data['images']}
    tol = EDGE_TOLERANCE
    per_category: Dict[object, int] = {}
    past, repeated = [], []
    boxes = 0
    # 860k annotations (COCO train2017's size): about 0.45 s
    for i, ann in enumerate(annotations):
        image = images.get(ann['image_id'])
        if image is None:
            continue
        category = ann['category_id']
        per_category[category] = per_category.get(category, 0) + 1
        box = ann.get('bbox')
        if type(box) is not list or len(box) != 4:
            continue
        x, y, w, h = box
        try:
            if x + w > image[0] + tol or y + h > image[1] + tol:
                past.append(i)
            if image[2].setdefault((category, x, y, w, h), i) != i:
                repeated.append(i)
        except TypeError:  # not numbers
            continue
        boxes += 1

    def image_of(i):
        return images[annotations[i]['image_id']]

    corner_like = [i for i in past
                   if _fits_as_corners(annotations[i]['bbox'], image_of(i))]
    fit = 0
    if corner_like:  # the share of all boxes, only then
        fit = sum(_fits_as_corners(a['bbox'], images[a['image_id']])
                  for a in annotations if a['image_id'] in images and
                  _readable(a.get('bbox')))
    repeats = []
    for i in repeated:
        ann = annotations[i]
        j = image_of(i)[2][(ann['category_id'], *ann['bbox'])]
        if _kept(ann, image_of(i)) and _kept(annotations[j], image_of(j)):
            repeats.append((i, j))
    return Evidence(boxes, fit, len(corner_like),
                    corner_like[0] if corner_like else None, len(repeats),
                    repeats[0] if repeats else None, per_category)


def _readable(box) -> bool:
    return type(box) is list and len(box) == 4 and \
        all(type(v) in _NUMBER for v in box)


def corner_boxes(path: str, data: dict, evidence: Evidence
                 ) -> Tuple[List[str], List[str]]:
    """``(problems, notes)``: boxes that look written as corners."""
    n, boxes = evidence.corner_like, evidence.boxes
    if not n:
        return [], []
    i = evidence.first_corner_like
    ann = data['annotations'][i]
    image = next(img for img in data['images']
                 if img['id'] == ann['image_id'])
    found = (f'{path}: {n} of {boxes} boxes extend past their image as '
             '[x, y, w, h] but fit as [x1, y1, x2, y2], e.g. '
             f"annotations[{i}] bbox {ann['bbox']} in a {image['width']}x"
             f"{image['height']} image")
    strong = n >= CORNERS_MIN_BOXES and n >= CORNERS_MIN_SHARE * boxes and \
        evidence.fit_as_corners >= CORNERS_FIT_SHARE * boxes
    if strong:
        return [f'{found}: boxes written as corners? mmdet reads COCO\'s '
                '[x, y, w, h], so each box would end at x1 + x2, y1 + y2. '
                'Write each bbox as [x1, y1, x2 - x1, y2 - y1]'], []
    return [], [f'{found} ({evidence.fit_as_corners} of {boxes} fit as '
                'corners: too few to tell boxes written as corners from '
                'boxes that overflow their image; mmdet reads them as [x, y, '
                'w, h])']


def repeated_annotations(path: str, evidence: Evidence) -> List[str]:
    """A note counting annotations that repeat an earlier one."""
    if not evidence.repeats:
        return []
    i, j = evidence.first_repeat
    return [f'{path}: {evidence.repeats} annotations repeat an earlier one '
            f'(same image, category and bbox), e.g. annotations[{i}] '
            f'repeats annotations[{j}]: mmdet trains on every copy, and '
            'COCOeval counts each as an object to find']


def category_id_shift(path: str, categories: list,
                      evidence: Evidence) -> List[str]:
    """A note when the annotations' category ids are the categories' ids
    shifted by a constant (aligned on the smallest, else the largest id)
    and some match no category."""
    known = {c['id'] for c in categories}
    used = list(evidence.per_category)
    if not known or not used or \
            not all(type(v) is int for v in (*known, *used)):
        return []
    unknown = [v for v in used if v not in known]
    if not unknown:
        return []
    for shift in (min(known) - min(used), max(known) - max(used)):
        if shift and all(v + shift in known for v in used):
            break
    else:
        return []
    total = sum(evidence.per_category.values())
    dropped = sum(evidence.per_category[v] for v in unknown)
    sign = 'minus' if shift > 0 else 'plus'
    fix = f'add {shift} to' if shift > 0 else f'subtract {-shift} from'
    return [f"{path}: the annotations' category_ids ({min(used)}-"
            f"{max(used)}) look like the categories' ids ({min(known)}-"
            f'{max(known)}) {sign} {abs(shift)}: mmdet drops the {dropped} '
            f'of {total} annotations whose id no category has and trains '
            f'the other {total - dropped} as the category their id names. '
            'If the ids were written off by a constant (e.g. 0-based '
            f"annotations, 1-based categories), {fix} every annotation's "
            'category_id']


def repeated_file_names(path: str, data: dict) -> List[str]:
    """A problem when two ``images`` entries name the same file."""
    first: Dict[str, int] = {}
    repeats = []
    for i, image in enumerate(data['images']):
        j = first.setdefault(osp.normpath(image['file_name']), i)
        if j != i:
            repeats.append((j, i))
    if not repeats:
        return []
    j, i = repeats[0]
    ids = (data['images'][j]['id'], data['images'][i]['id'])
    count = dict.fromkeys(ids, 0)
    for ann in data['annotations']:
        if ann['image_id'] in count:
            count[ann['image_id']] += 1
    return [f'{path}: {len(repeats)} images entries repeat the file_name of '
            f'an earlier one, e.g. images[{j}] (id {ids[0]!r}, '
            f'{count[ids[0]]} annotations) and images[{i}] (id {ids[1]!r}, '
            f'{count[ids[1]]} annotations) are both '
            f"{data['images'][i]['file_name']!r}: mmdet loads the image once "
            "per id with that id's annotations only, so the objects of the "
            'other id train as background. List each file once, with all '
            'its annotations under its id']


def export_mistakes(path: str, data: dict
                    ) -> Tuple[List[str], List[str], Evidence]:
    """``(problems, notes, evidence)`` of a file that passed
    :func:`~.data.malformed_entries`: all of the above but the category
    order, which needs the classes (:func:`class_order`)."""
    evidence = annotation_evidence(data)
    problems, notes = corner_boxes(path, data, evidence)
    problems = repeated_file_names(path, data) + problems
    notes += repeated_annotations(path, evidence)
    notes += category_id_shift(path, data['categories'], evidence)
    return problems, notes, evidence


def file_order(categories: list, classes: Sequence[str]) -> List[str]:
    """The classes in the order mmdet numbers them: the order of the
    file's categories (pycocotools' ``getCatIds`` keeps it)."""
    wanted = set(classes)
    return [c['name'] for c in categories if c['name'] in wanted]


class ClassOrder(NamedTuple):
    """How one dataset of the config reads one annotation file."""
    where: str
    path: str
    classes: Tuple[str, ...]
    order: List[str]
    #: annotations per category name
    per_name: Dict[str, int]


def class_order(where: str, path: str, classes: Sequence[str],
                categories: list, evidence: Evidence) -> ClassOrder:
    per_name: Dict[str, int] = {}
    for c in categories:
        per_name[c['name']] = per_name.get(c['name'], 0) + \
            evidence.per_category.get(c['id'], 0)
    return ClassOrder(where, path, tuple(classes),
                      file_order(categories, classes), per_name)


def class_order_problems(readers: List[ClassOrder]) -> List[str]:
    """A problem for each file whose categories list the classes in
    another order than ``metainfo.classes`` (once per file and classes),
    naming the files read with the same classes in yet another order.
    Files lacking a class, or naming one twice, are left to the other
    checks."""
    problems, done = [], set()
    for r in readers:
        if r.order == list(r.classes) or \
                sorted(r.order) != sorted(r.classes) or \
                (r.path, r.classes) in done:
            continue
        done.add((r.path, r.classes))
        total = sum(r.per_name.get(c, 0) for c in r.classes)
        moved = sum(r.per_name.get(c, 0) for i, c in enumerate(r.classes)
                    if r.order[i] != c)
        others = [o for o in readers if o.classes == r.classes and
                  o.path != r.path and o.order != r.order]
        text = (f'{r.where}.metainfo.classes is {list(r.classes)} but '
                f'{r.path} lists these categories in the order {r.order}: '
                "mmdet numbers labels by the file's order (pycocotools' "
                f'getCatIds keeps it), not by classes, so {moved} of the '
                f'{total} annotations of the classes would train under the '
                'label and name of another class')
        if others:
            o = others[0]
            problems.append(
                f'{text}; {o.where} reads {o.path} in the order {o.order}: '
                'training and evaluation would number the classes '
                f'differently. Fix: list the categories of {r.path} in the '
                'order of metainfo.classes')
        else:
            problems.append(
                f'{text}. Fix one of the two: metainfo.classes = '
                f"{tuple(r.order)!r} (in every split), or list the file's "
                'categories in the order of metainfo.classes')
    return problems


def _variants(name: str) -> set:
    """A name lower-cased, with spaces, ``_`` and ``-`` alike, with and
    without a plural ``s`` / ``es``."""
    base = re.sub(r'[\s_-]+', ' ', name.strip().casefold())
    forms = {base, base.replace(' ', '')}
    for form in list(forms):
        for end in ('es', 's'):
            if form.endswith(end) and len(form) > len(end) + 1:
                forms.add(form[:-len(end)])
    return forms


def closest_names(missing: Sequence[str], names: Sequence[str]
                  ) -> List[Tuple[str, str]]:
    """``(class, category name)`` for each missing class whose name differs
    from a category's only in case, spaces / ``_`` / ``-`` or a plural,
    else whose spelling is close (difflib, ratio >= 0.8)."""
    pairs = []
    for name in missing:
        forms = _variants(name)
        alike = [n for n in names if _variants(n) & forms]
        close = alike or difflib.get_close_matches(name, names, n=1,
                                                   cutoff=0.8)
        if close:
            pairs.append((name, close[0]))
    return pairs


def shown(names: Sequence[str]) -> str:
    """A list, cut after :data:`SHOWN_NAMES` names."""
    names = list(names)
    if len(names) <= SHOWN_NAMES:
        return str(names)
    return f'{names[:SHOWN_NAMES]} and {len(names) - SHOWN_NAMES} more'
