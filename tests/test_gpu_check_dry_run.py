"""The GPU check's Python parts, dry run on CPU with tiny inputs, in a
fresh interpreter where mmdet, mmcv and mmengine cannot be imported."""
import json
import os.path as osp

import pytest
import torch

from helpers.toy import ROOT, run_tool


def test_gpu_check_dry_run_on_cpu(tmp_path):
    out = tmp_path / 'gpu_check.json'
    script = (
        'import sys\n'
        '# as on a machine without the OpenMMLab stack\n'
        'sys.modules.update(mmdet=None, mmcv=None, mmengine=None)\n'
        f'sys.path.insert(0, r"{osp.join(ROOT, "benchmarks")}")\n'
        'import gpu_check\n'
        'rc = gpu_check.main(["--device", "cpu", "--tiny", "--repeats", "1",'
        f' "--json", r"{out}"])\n'
        'stack = [m for m in ("mmdet", "mmcv", "mmengine") '
        'if sys.modules.get(m) is not None]\n'
        'assert not stack, stack\n'
        'sys.exit(rc)\n')
    proc = run_tool(['-c', script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    result = json.loads(out.read_text())
    assert result['could_not_run'] == []
    assert result['standardize']['n_weights'] == 69
    assert result['standardize']['max_abs_diff_vs_mmcv'] < 1e-5
    assert result['amp']['scaled_step_max_diff'] == 0.0
    assert result['amp']['autocast_step_finite'] is True
    assert set(result['trunk']) == {
        'WSConv2d + eps-shifted groups',
        'mmcv ConvWS formula + per-parameter groups', 'ratio_time'
    }


@pytest.mark.skipif(torch.cuda.is_available(),
                    reason='the message is only printed without CUDA')
def test_gpu_check_says_when_cuda_is_missing(tmp_path):
    proc = run_tool([osp.join(ROOT, 'benchmarks', 'gpu_check.py')],
                    cwd=tmp_path)
    assert proc.returncode == 2
    assert 'could not run: CUDA is not available' in proc.stdout
