"""``experiments/eps_study.py --quick``: two short toy Mask R-CNN trainings
through tools/train.py, and the behaviour the theory fixes.

With λ = 1e-2 on the WS conv weights, the ε-shifted regularizer's centred
decay λ(1 − ε/σ) pulls each filter std σ toward ε instead of toward 0, so a
run with ε = 5e-2 (above the σ of the deepest convs at init) must end with a
higher minimum σ than the plain-decay run (ε = 0) on the same seed and data.
"""
import json
import os.path as osp
import subprocess
import sys
import time

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SCRIPT = osp.join(ROOT, 'experiments', 'eps_study.py')
ARMS = ('lam1e-2_eps0', 'lam1e-2_eps5e-2')


@pytest.mark.slow
def test_eps_study_quick(tmp_path):
    out = tmp_path / 'grid'
    start = time.time()
    proc = subprocess.run([sys.executable, SCRIPT, '--quick', '--out',
                           str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    elapsed = time.time() - start
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    results = {}
    for arm in ARMS:
        path = out / 'runs' / 'quick64' / arm / 'seed0' / 'result.json'
        assert path.is_file(), f'{arm} did not finish'
        results[arm] = json.loads(path.read_text())
        r = results[arm]
        assert r['nonfinite'] == 0
        assert r['final_step'] == 30
        assert 0.0 <= r['bbox_mAP'] <= 1.0
        assert r['max_task_grad_norm'] < 65504

    plain, shifted = results['lam1e-2_eps0'], results['lam1e-2_eps5e-2']
    # same seed, same data, same start: the first logged σ agree closely
    assert shifted['sigma_min_first'] == pytest.approx(
        plain['sigma_min_first'], rel=0.05)
    # plain decay shrinks the smallest filters; the shift holds them up
    assert plain['sigma_min'] < plain['sigma_min_first']
    assert shifted['sigma_min'] > plain['sigma_min'] * 1.05, (
        shifted['sigma_min'], plain['sigma_min'])

    report = (out / 'EPS_STUDY.md').read_text()
    rows = [line for line in report.splitlines() if line.startswith('| ')]
    for arm in ARMS:
        assert any(line.startswith(f'| {arm} |') for line in rows), arm
        assert any(f'| {arm} | 0 | done |' in line for line in rows), arm
    assert (out / 'plots' / 'quick64' / 'lam1e-2_eps0' / 'sigma.png').is_file()
    print(f'eps_study --quick: {elapsed:.0f} s')


def test_study_config_gives_lambda_to_exactly_the_ws_conv_weights(tmp_path):
    """The study's config per λ: the WS conv weights decay with λ (the
    shift's λ), every other parameter keeps the optimizer's 1e-4."""
    import importlib.util

    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmdet.registry import MODELS

    from mmdet_eps_l2.ops.ws_family import eps_shift_weights
    spec = importlib.util.spec_from_file_location('eps_study', SCRIPT)
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    cfg = Config.fromfile(study.study_config(str(tmp_path), 1e-2))
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    shifted = eps_shift_weights(model)
    decay = {id(p): g.get('weight_decay', 1e-4)
             for g in wrapper.optimizer.param_groups for p in g['params']}
    assert len(shifted) == 34
    for name, p in model.named_parameters():
        assert decay[id(p)] == (1e-2 if id(p) in shifted else 1e-4), name
