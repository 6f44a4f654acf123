"""The own-data template trains and evaluates on data it was not written
for: other class names and count, non-square images, no "info"."""
import json
import math
import os.path as osp
import sys

from mmengine.config import Config

from helpers.toy import ROOT, TOOLS, scalars, short_run_options

sys.path.insert(0, TOOLS)
import train  # noqa: E402

TEMPLATE = osp.join(ROOT, 'configs', 'own_data',
                    'mask-rcnn_r18-c32_fpn-c64_gn-ws-all_eps-l2_own-coco.py')


def test_template_is_short_and_follows_its_classes():
    lines = [line for line in open(TEMPLATE).read().splitlines()
             if line.strip()]
    assert len(lines) <= 32
    cfg = Config.fromfile(TEMPLATE)
    assert cfg.model.roi_head.bbox_head.num_classes == 2
    assert cfg.model.roi_head.mask_head.num_classes == 2
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[split].dataset
        assert dataset.data_root == 'data/my_coco/'
        assert dataset.metainfo.classes == ('cat', 'dog')
        resize = [t for t in dataset.pipeline if t.type == 'Resize']
        assert resize[0].scale == (160, 120)
    assert cfg.val_evaluator.ann_file == \
        'data/my_coco/annotations/instances_val.json'


def _edit_template(path, **settings):
    """The template with lines of its first block replaced, as a user
    edits it (and its base made absolute, as it moved)."""
    lines = []
    for line in open(TEMPLATE).read().splitlines():
        key = line.split('=')[0].strip()
        if key == '_base_':
            line = "_base_ = " + repr(osp.join(
                ROOT, 'configs', 'toy',
                'mask-rcnn_r18-c32_fpn-c64_gn-ws-all_eps-l2_toy-shapes.py'))
        elif key in settings:
            line = f'{key} = {settings.pop(key)!r}'
        lines.append(line)
    assert not settings, f'not in the template: {settings}'
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def test_template_trains_and_evaluates_on_other_data(tmp_path):
    from toy_shapes import generate_toy_coco
    root = tmp_path / 'my_coco'
    classes = dict(disc='circle', box='square', tri='triangle',
                   box2='square')
    paths = generate_toy_coco(str(root), 8, 4, (160, 96), seed=3,
                              classes=classes, with_info=False)
    assert 'info' not in json.load(open(paths['val']))
    config = _edit_template(tmp_path / 'mine.py',
                            data_root=f'{root}/',
                            classes=tuple(classes),
                            image_size=(160, 96))
    work_dir = tmp_path / 'wd'
    runner = train.build_runner([
        config, '--work-dir', str(work_dir), '--cfg-options',
        *short_run_options(3), 'model.test_cfg.rcnn.score_thr=0.0',
        'visualizer.name=vis_own'
    ])
    assert runner.model.roi_head.bbox_head.num_classes == 4
    assert runner.model.roi_head.mask_head.num_classes == 4
    runner.train()
    metrics = [r for r in scalars(str(work_dir)) if 'coco/bbox_mAP' in r]
    assert len(metrics) == 1
    for key in ('coco/bbox_mAP', 'coco/segm_mAP'):
        assert math.isfinite(metrics[0][key]) and \
            0.0 <= metrics[0][key] <= 1.0
