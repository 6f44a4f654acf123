"""End to end on the generated toy data: training with evaluation, mmdet's
own train tool, resume, checkpoint loading, test tool, bad input."""
import os.path as osp
import sys

import pytest
import torch

from helpers.toy import (TOOLS, TOY_MASK_RCNN, TOY_RETINANET, run_tool,
                         scalars, short_run_options)

sys.path.insert(0, TOOLS)
import train  # noqa: E402  (tools/train.py)


def build_runner(config, work_dir, iters, *extra, **kw):
    opts = short_run_options(iters, **kw) + [
        f'visualizer.name=vis_{osp.basename(work_dir)}'
    ] + list(extra)
    return train.build_runner(
        [config, '--work-dir', str(work_dir), '--cfg-options'] + opts)


@pytest.mark.slow
def test_toy_mask_rcnn_trains_and_evaluates(in_toy_root):
    work_dir = in_toy_root / 'wd_mask'
    # score_thr 0: an untrained model still outputs boxes to evaluate
    runner = build_runner(TOY_MASK_RCNN, work_dir, 3,
                          'model.test_cfg.rcnn.score_thr=0.0')
    runner.train()
    records = scalars(str(work_dir))
    metrics = [r for r in records if 'coco/bbox_mAP' in r]
    assert len(metrics) == 1
    # evaluated real predictions (pycocotools gives -1 without any): a
    # 3-iteration model from scratch scores near 0
    for key in ('coco/bbox_mAP', 'coco/segm_mAP'):
        assert 0.0 <= metrics[0][key] <= 0.05, metrics[0]
    train_records = [r for r in records if 'loss' in r]
    assert [r['iter'] for r in train_records] == [1, 2, 3]
    assert all(torch.isfinite(torch.tensor(r['loss'])) for r in train_records)
    # the weight-statistics hook wrote its scalars at every iteration
    ws = [r for r in records if 'ws/neck/sigma_median' in r]
    assert [r['step'] for r in ws] == [1, 2, 3]
    assert osp.isfile(work_dir / 'iter_3.pth')
    # the ε-shift is on: one group, all WS weights
    groups = [g for g in runner.optim_wrapper.optimizer.param_groups
              if 'eps_l2_eps' in g]
    assert len(groups) == 1 and groups[0]['eps_l2_eps'] == 1e-3


@pytest.mark.slow
def test_toy_retinanet_trains_and_evaluates(in_toy_root):
    work_dir = in_toy_root / 'wd_retina'
    build_runner(TOY_RETINANET, work_dir, 3,
                 'model.test_cfg.score_thr=0.0').train()
    metrics = [r for r in scalars(str(work_dir)) if 'coco/bbox_mAP' in r]
    assert len(metrics) == 1 and 0.0 <= metrics[0]['coco/bbox_mAP'] <= 0.05
    assert 'coco/segm_mAP' not in metrics[0]


@pytest.mark.slow
def test_resume_ends_with_the_same_weights(in_toy_root):
    straight = build_runner(TOY_MASK_RCNN, in_toy_root / 'wd_straight', 4,
                            val=False)
    straight.train()
    first = build_runner(TOY_MASK_RCNN, in_toy_root / 'wd_split', 2,
                         val=False)
    first.train()
    checkpoint = in_toy_root / 'wd_split' / 'iter_2.pth'
    assert checkpoint.is_file()
    resumed = train.build_runner([
        TOY_MASK_RCNN, '--work-dir', str(in_toy_root / 'wd_split'),
        '--resume', str(checkpoint), '--cfg-options'
    ] + short_run_options(4, val=False) + ['visualizer.name=vis_resumed'])
    resumed.train()
    a = straight.model.state_dict()
    b = resumed.model.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.mark.slow
def test_checkpoints_load_with_weights_only(in_toy_root):
    build_runner(TOY_MASK_RCNN, in_toy_root / 'wd_ckpt', 1, val=False).train()
    path = str(in_toy_root / 'wd_ckpt' / 'iter_1.pth')
    ckpt = torch.load(path, weights_only=True)
    assert {'state_dict', 'optimizer', 'message_hub', 'meta',
            'torch_rng_state'} <= set(ckpt)
    groups = ckpt['optimizer']['param_groups']
    assert any(g.get('eps_l2_eps') == 1e-3 for g in groups)


@pytest.mark.slow
def test_own_test_tool_and_mmdet_test_tool_on_a_checkpoint(in_toy_root):
    build_runner(TOY_MASK_RCNN, in_toy_root / 'wd_t', 1, val=False).train()
    ckpt = str(in_toy_root / 'wd_t' / 'iter_1.pth')
    import mmdet
    mmdet_test = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools',
                          'test.py')
    for tool in (osp.join(TOOLS, 'test.py'), mmdet_test):
        proc = run_tool([tool, TOY_MASK_RCNN, ckpt, '--work-dir',
                         str(in_toy_root / 'wd_t_test'), '--cfg-options',
                         'model.test_cfg.rcnn.score_thr=0.0'],
                        cwd=in_toy_root)
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert 'coco/bbox_mAP' in proc.stdout
        assert 'Weights only load failed' not in proc.stdout


@pytest.mark.slow
def test_test_tool_dumps_predictions_after_the_data_check(in_toy_root,
                                                          tmp_path):
    import pickle
    build_runner(TOY_MASK_RCNN, in_toy_root / 'wd_dump', 1,
                 val=False).train()
    ckpt = str(in_toy_root / 'wd_dump' / 'iter_1.pth')
    out = tmp_path / 'results.pkl'
    proc = run_tool([osp.join(TOOLS, 'test.py'), TOY_MASK_RCNN, ckpt,
                     '--work-dir', str(tmp_path / 'wd'), '--out', str(out),
                     '--cfg-options', 'model.test_cfg.rcnn.score_thr=0.0'],
                    cwd=in_toy_root)
    assert proc.returncode == 0, proc.stdout[-3000:]
    with open(out, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 6  # one per val image
    # a broken test file is named by the check, not by mmdet's traceback
    bad = tmp_path / 'bad.json'
    bad.write_text('{"images": ')
    proc = run_tool([osp.join(TOOLS, 'test.py'), TOY_MASK_RCNN, ckpt,
                     '--work-dir', str(tmp_path / 'wd2'), '--out', str(out),
                     '--cfg-options', f'test_dataloader.dataset.ann_file={bad}',
                     f'test_evaluator.ann_file={bad}'], cwd=in_toy_root)
    assert proc.returncode != 0
    assert 'bad.json is not valid JSON' in proc.stdout
    assert 'Traceback' not in proc.stdout


@pytest.mark.slow
def test_mmdet_own_train_tool_runs_the_toy_config(in_toy_root):
    import mmdet
    mmdet_train = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools',
                           'train.py')
    work_dir = in_toy_root / 'wd_mmdet_tool'
    proc = run_tool([mmdet_train, TOY_MASK_RCNN, '--work-dir', str(work_dir),
                     '--cfg-options'] + short_run_options(2, val=False),
                    cwd=in_toy_root)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert osp.isfile(work_dir / 'iter_2.pth')
    assert 'parameter groups (weight_decay: what the optimizer applies' in \
        proc.stdout


# ------------------------------------------------------------- bad input
def _train_fails(args, cwd):
    proc = run_tool([osp.join(TOOLS, 'train.py')] + args, cwd=cwd)
    assert proc.returncode != 0
    return proc.stdout


@pytest.mark.slow
def test_missing_data_root_is_named_before_training(tmp_path):
    out = _train_fails([TOY_MASK_RCNN, '--work-dir', str(tmp_path / 'wd')],
                       cwd=tmp_path)
    assert 'train_dataloader.dataset.data_root: data/toy_coco/ does not ' \
        'exist' in out
    assert not (tmp_path / 'wd').exists()  # nothing created


@pytest.mark.slow
def test_bad_plugin_settings_are_named_before_training(in_toy_root,
                                                       tmp_path):
    out = _train_fails([
        TOY_MASK_RCNN, '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
        'optim_wrapper.paramwise_cfg.eps_l2.epsilon=0.1',
        'model.neck.conv_cfg.type=WSConv',
        'optim_wrapper.constructor=EpsShiftedL2OptimWrapperConstrutor'
    ], cwd=in_toy_root)
    # all three, in one message
    assert "model.neck.conv_cfg: unknown conv type 'WSConv'" in out
    assert "unknown constructor 'EpsShiftedL2OptimWrapperConstrutor'" in out
    assert "optim_wrapper.paramwise_cfg.eps_l2: unknown key(s) ['epsilon']" \
        in out
    assert not (tmp_path / 'wd').exists()


@pytest.mark.slow
def test_misspelled_plugin_import_is_named(in_toy_root, tmp_path):
    out = _train_fails([
        TOY_MASK_RCNN, '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
        'custom_imports.imports=[mmdet_eps_12]'
    ], cwd=in_toy_root)
    assert "custom_imports: cannot import 'mmdet_eps_12'" in out
    assert not (tmp_path / 'wd').exists()


@pytest.mark.slow
def test_misspelled_eps_l2_key_is_named(in_toy_root, tmp_path):
    out = _train_fails([
        TOY_MASK_RCNN, '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
        'optim_wrapper.paramwise_cfg.eps_l2.epsilon=0.1'
    ], cwd=in_toy_root)
    assert "unknown key(s) ['epsilon']" in out


@pytest.mark.slow
def test_missing_annotation_file_is_named(in_toy_root, tmp_path):
    out = _train_fails([
        TOY_MASK_RCNN, '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
        'val_dataloader.dataset.ann_file=annotations/nope.json'
    ], cwd=in_toy_root)
    assert 'val_dataloader.dataset.ann_file: data/toy_coco/annotations/' \
        'nope.json does not exist' in out
