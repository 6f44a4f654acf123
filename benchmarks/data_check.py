"""What the data check costs, next to mmdet's own loading of the same file.

    python benchmarks/data_check.py [--images 118287] [--annotations 860001]
        [--repeats 3]

Writes a synthetic COCO instances file the size of train2017 (118k images,
860k annotations, one 8-point polygon each; no image files) and times,
alternated:

(a) mmdet's ``CocoDataset`` loading the file (``full_init``: parse,
    pycocotools index, ``parse_data_info`` of every image), which every
    training run pays;
(b) ``check_coco_data`` (the check ``tools/train.py`` runs before training:
    JSON, classes, heads, counts; the image sample is skipped as no image
    exists) followed by the same loading, which then reuses the check's
    parse (:mod:`mmdet_eps_l2.utils.coco_info`), as in a training run.

Prints min / median / max seconds of each and what the check adds:
``(b - a) / a`` of the medians.
"""
import argparse
import json
import os.path as osp
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from common import machine_line  # noqa: E402

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
    from mmdet_eps_l2.utils import data_check
    init_default_scope('mmdet')
    data_check.IMAGE_SAMPLE = 0  # no image files here

    with tempfile.TemporaryDirectory() as tmp:
        ann = osp.join(tmp, 'instances.json')
        size_mb = write_synthetic_coco(ann, args.images, args.annotations)
        dataset = dict(type='CocoDataset', data_root=tmp,
                       ann_file='instances.json',
                       metainfo=dict(classes=CLASSES),
                       data_prefix=dict(img='train/'))
        cfg = ConfigDict(train_dataloader=dict(dataset=dataset),
                         model=dict(bbox_head=dict(num_classes=3)))

        def check_then_load():
            problems, notes = data_check.check_coco_data(cfg)
            assert not problems, problems
            mmdet_load()

        def mmdet_load():
            ds = CocoDataset(ann_file=ann, metainfo=dict(classes=CLASSES),
                             data_prefix=dict(img=''), pipeline=[],
                             lazy_init=True)
            ds.full_init()
            assert len(ds) == args.images

        samples = {'check': [], 'mmdet': []}
        for _ in range(args.repeats):
            for name, fn in (('check', check_then_load),
                             ('mmdet', mmdet_load)):
                start = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - start)
    print(f'# data check cost ({machine_line()}); synthetic COCO file: '
          f'{args.images} images, {args.annotations} annotations, '
          f'{size_mb:.0f} MB; {args.repeats} alternated repeats')
    for name, label in (('mmdet', '(a) mmdet CocoDataset full_init'),
                        ('check', '(b) check_coco_data, then (a)')):
        s = samples[name]
        print(f'  {label:32s} min {min(s):6.2f} s  median '
              f'{statistics.median(s):6.2f} s  max {max(s):6.2f} s')
    a = statistics.median(samples['mmdet'])
    b = statistics.median(samples['check'])
    ratio = (b - a) / a
    print(f'  the check adds {b - a:.2f} s = {100 * ratio:.1f} % of '
          "mmdet's loading (medians)")
    return dict(samples=samples, ratio=ratio, size_mb=size_mb)


if __name__ == '__main__':
    main()
