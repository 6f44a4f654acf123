"""A small, deterministic COCO-format data set of simple shapes.

Images of squares, circles and triangles on a noisy background, each object
with a polygon mask, its box and area, in this layout::

    OUT/annotations/instances_train.json   OUT/train/000000.png ...
    OUT/annotations/instances_val.json     OUT/val/000000.png ...

or in mmdet's COCO layout (``instances_train2017.json``, ``train2017/``,
``val2017/``, categories named as COCO's), which stock mmdet configs read.

The same arguments always give the same files (one seeded generator).
"""
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from pycocotools import mask as mask_utils

CLASSES: Tuple[str, ...] = ('square', 'circle', 'triangle')
#: the toy classes of the COCO layout: COCO category names, so that a stock
#: config (its 80 COCO classes) keeps their annotations
COCO_NAMED_CLASSES = dict(person='square', car='circle', dog='triangle')


def _polygon(kind: str, cx: float, cy: float, r: float,
             angle: float) -> np.ndarray:
    if kind == 'square':
        angles = angle + np.arange(4) * math.pi / 2 + math.pi / 4
    elif kind == 'triangle':
        angles = angle + np.arange(3) * 2 * math.pi / 3
    else:  # circle
        angles = np.linspace(0, 2 * math.pi, 32, endpoint=False)
    return np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], 1)


def _overlaps(box, boxes, margin=2.0) -> bool:
    x0, y0, x1, y1 = box
    return any(x0 < b[2] + margin and b[0] < x1 + margin
               and y0 < b[3] + margin and b[1] < y1 + margin for b in boxes)


def _make_image(rng: np.random.RandomState, width: int, height: int,
                max_objects: int,
                kinds: Sequence[str]) -> Tuple[np.ndarray, List[Dict]]:
    base = rng.randint(0, 80, size=3)
    image = np.clip(
        base[None, None, :] + rng.randint(0, 40, size=(height, width, 3)), 0,
        255).astype(np.uint8)
    objects, boxes = [], []
    for _ in range(rng.randint(1, max_objects + 1)):
        for _attempt in range(20):
            label = rng.randint(len(kinds))
            r = rng.uniform(0.1, 0.22) * min(width, height)
            cx, cy = rng.uniform([r + 1, r + 1],
                                 [width - r - 1, height - r - 1])
            poly = _polygon(kinds[label], cx, cy, r,
                            rng.uniform(0, 2 * math.pi))
            box = (poly[:, 0].min(), poly[:, 1].min(), poly[:, 0].max(),
                   poly[:, 1].max())
            if not _overlaps(box, boxes):
                break
        else:
            continue
        color = tuple(int(c) for c in rng.randint(120, 256, size=3))
        cv2.fillPoly(image, [np.round(poly).astype(np.int32)], color)
        boxes.append(box)
        objects.append(dict(label=label, polygon=poly))
    return image, objects


def _annotation(obj: Dict, ann_id: int, image_id: int, category_id: int,
                width: int, height: int) -> Dict:
    poly = obj['polygon']
    flat = [float(round(v, 2)) for v in poly.reshape(-1)]
    rle = mask_utils.frPyObjects([flat], height, width)
    area = float(mask_utils.area(mask_utils.merge(rle)))
    x0, y0 = poly.min(0)
    x1, y1 = poly.max(0)
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=category_id,
        segmentation=[flat],
        area=area,
        bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
        iscrowd=0)


def generate_toy_coco(out_dir: str,
                      num_train: int = 400,
                      num_val: int = 100,
                      image_size: Union[int, Tuple[int, int]] = 128,
                      max_objects: int = 3,
                      seed: int = 0,
                      classes: Optional[Dict[str, str]] = None,
                      with_info: bool = True,
                      coco_layout: bool = False) -> Dict[str, str]:
    """Write the data set; return the paths of the two annotation files.

    Args:
        image_size: side of square images, or ``(width, height)``.
        classes: category name -> shape drawn for it (``'square'``,
            ``'circle'`` or ``'triangle'``), in category-id order; default
            the three shapes under their own names (with ``coco_layout``,
            :data:`COCO_NAMED_CLASSES`).
        with_info: write the top-level ``"info"`` (many converters don't).
        coco_layout: mmdet's COCO layout (``annotations/instances_
            {train,val}2017.json``, ``train2017/``, ``val2017/``) and COCO's
            80 categories (ids 1-80 in mmdet's order; the shapes drawn
            under three of them), so that a stock mmdet COCO config reads
            it with ``data_root=`` alone.
    """
    if num_train < 1 or num_val < 1:
        raise ValueError('num_train and num_val must be >= 1')
    width, height = (image_size, image_size) if isinstance(
        image_size, int) else tuple(image_size)
    if min(width, height) < 32:
        raise ValueError(f'image_size must be >= 32, got {image_size}')
    default = COCO_NAMED_CLASSES if coco_layout else {c: c for c in CLASSES}
    classes = dict(classes or default)
    suffix = '2017' if coco_layout else ''
    unknown = sorted(set(classes.values()) - set(CLASSES))
    if unknown:
        raise ValueError(f'classes: unknown shapes {unknown}; '
                         f'shapes are {list(CLASSES)}')
    kinds = list(classes.values())
    rng = np.random.RandomState(seed)
    names = list(classes)
    if coco_layout:  # all of COCO's categories, so its 80 classes are there
        from mmdet.datasets import CocoDataset
        names = list(CocoDataset.METAINFO['classes'])
    categories = [dict(id=i + 1, name=n, supercategory='shape')
                  for i, n in enumerate(names)]
    category_ids = [names.index(n) + 1 for n in classes]
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    written = {}
    ann_id = 1
    for name, count in (('train', num_train), ('val', num_val)):
        split = name + suffix
        os.makedirs(osp.join(out_dir, split), exist_ok=True)
        images, annotations = [], []
        for image_id in range(1, count + 1):
            image, objects = _make_image(rng, width, height, max_objects,
                                         kinds)
            file_name = f'{image_id:06d}.png'
            cv2.imwrite(osp.join(out_dir, split, file_name), image)
            images.append(dict(id=image_id, file_name=file_name,
                               width=width, height=height))
            for obj in objects:
                annotations.append(
                    _annotation(obj, ann_id, image_id,
                                category_ids[obj['label']], width, height))
                ann_id += 1
        data = dict(info=dict(description=f'toy shapes {name}',
                              version='1.0'),
                    licenses=[],
                    images=images,
                    annotations=annotations,
                    categories=categories)
        if not with_info:
            del data['info']
        path = osp.join(out_dir, 'annotations', f'instances_{split}.json')
        with open(path, 'w') as f:
            json.dump(data, f)
        written[name] = path
    return written
