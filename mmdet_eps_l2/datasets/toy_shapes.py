"""A small, deterministic COCO-format data set of simple shapes.

Images of squares, circles and triangles on a noisy background, each object
with a polygon mask, its box and area, in mmdet's standard layout::

    OUT/annotations/instances_train.json   OUT/train/000000.png ...
    OUT/annotations/instances_val.json     OUT/val/000000.png ...

The same arguments always give the same files (one seeded generator).
"""
import json
import math
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils

CLASSES: Tuple[str, ...] = ('square', 'circle', 'triangle')


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


def _make_image(rng: np.random.RandomState, size: int,
                max_objects: int) -> Tuple[np.ndarray, List[Dict]]:
    base = rng.randint(0, 80, size=3)
    image = np.clip(
        base[None, None, :] + rng.randint(0, 40, size=(size, size, 3)), 0,
        255).astype(np.uint8)
    objects, boxes = [], []
    for _ in range(rng.randint(1, max_objects + 1)):
        for _attempt in range(20):
            label = rng.randint(len(CLASSES))
            r = rng.uniform(0.1, 0.22) * size
            cx, cy = rng.uniform(r + 1, size - r - 1, size=2)
            poly = _polygon(CLASSES[label], cx, cy, r,
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


def _annotation(obj: Dict, ann_id: int, image_id: int,
                size: int) -> Dict:
    poly = obj['polygon']
    flat = [float(round(v, 2)) for v in poly.reshape(-1)]
    rle = mask_utils.frPyObjects([flat], size, size)
    area = float(mask_utils.area(mask_utils.merge(rle)))
    x0, y0 = poly.min(0)
    x1, y1 = poly.max(0)
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=obj['label'] + 1,
        segmentation=[flat],
        area=area,
        bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
        iscrowd=0)


def generate_toy_coco(out_dir: str,
                      num_train: int = 400,
                      num_val: int = 100,
                      image_size: int = 128,
                      max_objects: int = 3,
                      seed: int = 0) -> Dict[str, str]:
    """Write the data set; return the paths of the two annotation files."""
    if num_train < 1 or num_val < 1:
        raise ValueError('num_train and num_val must be >= 1')
    if image_size < 32:
        raise ValueError(f'image_size must be >= 32, got {image_size}')
    rng = np.random.RandomState(seed)
    categories = [dict(id=i + 1, name=n, supercategory='shape')
                  for i, n in enumerate(CLASSES)]
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    written = {}
    ann_id = 1
    for split, count in (('train', num_train), ('val', num_val)):
        os.makedirs(osp.join(out_dir, split), exist_ok=True)
        images, annotations = [], []
        for image_id in range(1, count + 1):
            image, objects = _make_image(rng, image_size, max_objects)
            file_name = f'{image_id:06d}.png'
            cv2.imwrite(osp.join(out_dir, split, file_name), image)
            images.append(dict(id=image_id, file_name=file_name,
                               width=image_size, height=image_size))
            for obj in objects:
                annotations.append(
                    _annotation(obj, ann_id, image_id, image_size))
                ann_id += 1
        path = osp.join(out_dir, 'annotations', f'instances_{split}.json')
        with open(path, 'w') as f:
            json.dump(
                dict(info=dict(description=f'toy shapes {split}',
                               version='1.0'),
                     licenses=[],
                     images=images,
                     annotations=annotations,
                     categories=categories), f)
        written[split] = path
    return written
