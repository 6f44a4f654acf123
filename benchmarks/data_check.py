"""What the data check costs, next to mmdet's own loading of the same file.

    python benchmarks/data_check.py [--images 118287] [--annotations 860001]
        [--repeats 3]

Writes a synthetic COCO instances file the size of train2017 (118k images,
860k annotations, one 8-point polygon each; no image files) and times,
alternated (A/B/C, A/B/C, ...):

(a) mmdet's ``CocoDataset`` loading the file (``full_init``: pycocotools'
    ``json.load``, its index, ``parse_data_info`` of every image), which
    every training run pays;
(b) ``check_coco_data`` (:mod:`mmdet_eps_l2.checks.data`, the check a
    training run makes before the loop: its own parse of the file, classes,
    heads, counts, the converters' mistakes; no image sample, as no image
    exists here), with orjson;
(c) the same check with orjson hidden (the ``json`` fallback).

The check parses the file on its own: a training run pays (a) + (b).
Prints min / median / max seconds of each and ``(b) / (a)``, ``(c) / (a)``
(median and range over the rounds).  Then times the image sample alone:
decoding :data:`~mmdet_eps_l2.checks.data.IMAGE_SAMPLE` files of
COCO's size (640x480, JPEG and PNG) as the check does.
"""
import argparse
import json
import os
import os.path as osp
import random
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from common import machine_line, spread, time_side_by_side  # noqa: E402

CLASSES = ('square', 'circle', 'triangle')


def write_synthetic_coco(path: str, images: int, annotations: int) -> float:
    """A COCO instances file of the given size; returns its size in MB."""
    rng = random.Random(0)
    data = dict(
        images=[
            dict(id=i, file_name=f'{i:012d}.jpg', width=640, height=480)
            for i in range(images)
        ],
        categories=[dict(id=i + 1, name=n) for i, n in enumerate(CLASSES)],
        annotations=[])
    for a in range(annotations):
        x, y = rng.uniform(0, 600), rng.uniform(0, 440)
        w, h = rng.uniform(4, 40), rng.uniform(4, 40)
        data['annotations'].append(
            dict(id=a + 1, image_id=a % images, category_id=a % 3 + 1,
                 bbox=[round(x, 2), round(y, 2), round(w, 2), round(h, 2)],
                 area=round(w * h, 2), iscrowd=0,
                 segmentation=[[round(v, 2) for v in (
                     x, y, x + w / 2, y, x + w, y, x + w, y + h / 2, x + w,
                     y + h, x + w / 2, y + h, x, y + h, x, y + h / 2)]]))
    with open(path, 'w') as f:
        json.dump(data, f)
    return osp.getsize(path) / 2**20


def write_sample_images(folder: str, count: int, ext: str) -> list:
    """``count`` 640x480 images with COCO-like content (smooth gradients,
    shapes, noise): their ``images`` entries."""
    import cv2
    import numpy as np
    rng = np.random.RandomState(0)
    y, x = np.mgrid[0:480, 0:640]
    entries = []
    for i in range(count):
        img = np.stack([(x + 7 * i) % 256, (y * 2) % 256, (x + y) % 256],
                       -1).astype(np.uint8)
        for _ in range(8):
            c = tuple(int(v) for v in rng.randint(0, 256, 3))
            cv2.circle(img, tuple(int(v) for v in rng.randint(0, 480, 2)),
                       int(rng.randint(10, 80)), c, -1)
        img = cv2.add(img, rng.randint(0, 24, img.shape).astype(np.uint8))
        name = f'{i:06d}.{ext}'
        cv2.imwrite(osp.join(folder, name), img)
        entries.append(dict(id=i, file_name=name, width=640, height=480))
    return entries


def time_image_sample(tmp: str, repeats: int) -> dict:
    """Seconds of ``_check_images`` over IMAGE_SAMPLE images per format."""
    from mmdet_eps_l2.checks import data as data_check
    out = {}
    for ext in ('jpg', 'png'):
        folder = osp.join(tmp, ext)
        os.makedirs(folder)
        images = write_sample_images(folder, data_check.IMAGE_SAMPLE, ext)
        dataset = dict(data_root=folder, data_prefix=dict(img=''))
        data = dict(images=images)
        times = []
        for _ in range(repeats + 1):  # the first round warms the cache
            start = time.perf_counter()
            problems, _ = data_check._check_images(
                'bench', 'bench.json', dataset, data)
            times.append(time.perf_counter() - start)
            assert not problems, problems
        out[ext] = sorted(times[1:])
        out[f'{ext}_mb'] = sum(
            osp.getsize(osp.join(folder, i['file_name']))
            for i in images) / 2**20
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--images', type=int, default=118287)
    parser.add_argument('--annotations', type=int, default=860001)
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args(argv)

    from mmengine.config import ConfigDict
    from mmengine.registry import init_default_scope

    import mmdet_eps_l2  # noqa: F401
    from mmdet.datasets import CocoDataset
    from mmdet_eps_l2.checks import data as data_check
    init_default_scope('mmdet')

    with tempfile.TemporaryDirectory() as tmp:
        ann = osp.join(tmp, 'instances.json')
        size_mb = write_synthetic_coco(ann, args.images, args.annotations)
        dataset = dict(type='CocoDataset', data_root=tmp,
                       ann_file='instances.json',
                       metainfo=dict(classes=CLASSES),
                       data_prefix=dict(img='train/'))
        cfg = ConfigDict(train_dataloader=dict(dataset=dataset),
                         model=dict(bbox_head=dict(num_classes=3)))

        def check():
            sample, data_check.IMAGE_SAMPLE = data_check.IMAGE_SAMPLE, 0
            try:  # no image files here
                problems, notes = data_check.check_coco_data(cfg)
            finally:
                data_check.IMAGE_SAMPLE = sample
            assert not problems, problems

        def check_json():
            orjson = sys.modules.get('orjson')
            sys.modules['orjson'] = None  # `import orjson` fails
            try:
                check()
            finally:
                if orjson is None:
                    del sys.modules['orjson']
                else:
                    sys.modules['orjson'] = orjson

        def mmdet_load():
            ds = CocoDataset(ann_file=ann, metainfo=dict(classes=CLASSES),
                             data_prefix=dict(img=''), pipeline=[],
                             lazy_init=True)
            ds.full_init()
            assert len(ds) == args.images

        timings = time_side_by_side(
            {'mmdet': mmdet_load, 'orjson': check, 'json': check_json},
            repeats=args.repeats, warmup=0)
        images = time_image_sample(tmp, max(args.repeats, 5))
    print(f'# data check cost ({machine_line()}); synthetic COCO file: '
          f'{args.images} images, {args.annotations} annotations, '
          f'{size_mb:.0f} MB; {args.repeats} alternated repeats')
    for name, label in (('mmdet', '(a) mmdet CocoDataset full_init'),
                        ('orjson', '(b) check_coco_data, orjson'),
                        ('json', '(c) check_coco_data, json')):
        s = timings.samples[name]
        print(f'  {label:32s} min {min(s):6.2f} s  median '
              f'{timings[name]:6.2f} s  max {max(s):6.2f} s')
    ratios = {name: timings.ratio(name, 'mmdet')
              for name in ('orjson', 'json')}
    print(f"  (b) / (a) = {spread(ratios['orjson'], '.3f')}, (c) / (a) = "
          f"{spread(ratios['json'], '.3f')} (median (min-max) of rounds): "
          'what the check adds to a run that loads the file')
    for ext in ('jpg', 'png'):
        s = images[ext]
        print(f'  image sample: {data_check.IMAGE_SAMPLE} {ext.upper()} '
              f"files, 640x480, {images[f'{ext}_mb']:.1f} MB, decoded in "
              f'min {min(s) * 1e3:.0f} ms, median '
              f'{s[len(s) // 2] * 1e3:.0f} ms')
    return dict(samples=timings.samples, medians=dict(timings),
                ratios=ratios, images=images, size_mb=size_mb)


if __name__ == '__main__':
    main()
