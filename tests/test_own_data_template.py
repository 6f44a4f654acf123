"""The own-data template trains and evaluates on data it was not written
for: other class names and count, non-square images, no "info"."""
import json
import math
import os
import os.path as osp
import sys

import pytest
from mmengine.config import Config

from helpers.toy import ROOT, TOOLS, scalars, short_run_options

sys.path.insert(0, TOOLS)
import train  # noqa: E402

#: end to end (training, fresh interpreters, full-size detectors)
pytestmark = pytest.mark.slow

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


PURE_TEMPLATE = ('mmdet_eps_l2.configs.own_data.'
                 'mask_rcnn_r18_c32_fpn_c64_gn_ws_all_eps_l2_own_coco')


def test_an_installed_copy_has_the_template_and_the_tools(tmp_path):
    # the wheel `pip install .` installs, unpacked alone on the path, used
    # from a folder outside the repository as the README says
    import subprocess
    import zipfile
    wheel_dir = tmp_path / 'wheel'
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps',
                    '--no-build-isolation', '-q', '-w', str(wheel_dir), ROOT],
                   check=True, timeout=300)
    (wheel, ) = wheel_dir.glob('mmdet_eps_l2-*.whl')
    site = tmp_path / 'site'
    zipfile.ZipFile(wheel).extractall(site)
    names = zipfile.ZipFile(wheel).namelist()
    for module in ('tools/train.py', 'tools/test.py', 'tools/fold_ws.py',
                   'tools/generate_toy_coco.py',
                   'configs/own_data/mask_rcnn_r18_c32_fpn_c64_gn_ws_all_'
                   'eps_l2_own_coco.py'):
        assert f'mmdet_eps_l2/{module}' in names, module
    user = tmp_path / 'user'
    user.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site), OMP_NUM_THREADS='1')

    def run(*args):
        proc = subprocess.run([sys.executable, '-m', *args], cwd=user,
                              env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:]
        return proc.stdout

    run('mmdet_eps_l2.tools.generate_toy_coco', 'data/my_coco', '--train',
        '4', '--val', '2', '--size', '160', '120', '--classes', 'cat=circle',
        'dog=square')
    (user / 'my_detector.py').write_text(
        'from mmengine.config import read_base\n'
        'with read_base():\n'
        f'    from {PURE_TEMPLATE} import *  # noqa\n')
    out = run('mmdet_eps_l2.tools.train', 'my_detector.py', '--work-dir',
              'wd', '--cfg-options', *short_run_options(2),
              'model.test_cfg.rcnn.score_thr=0.0')
    assert 'coco/bbox_mAP' in out
    # the run used the unpacked copy, not the repository
    probe = run('mmdet_eps_l2.tools.train', '--help')
    assert 'usage:' in probe
    where = subprocess.run(
        [sys.executable, '-c', 'import mmdet_eps_l2; '
         'print(mmdet_eps_l2.__file__)'], cwd=user, env=env,
        stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    assert where.startswith(str(site)), where
    metrics = [r for r in scalars(str(user / 'wd')) if 'coco/bbox_mAP' in r]
    assert len(metrics) == 1 and metrics[0]['coco/bbox_mAP'] >= 0.0
