"""tools/gpu/check.sh --dry-run: the GPU check's steps on this CPU machine,
with the kit of `make gpu-kit` (skipped where the kit is not built)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from helpers.toy import ROOT

KIT = osp.join(ROOT, '.gpu_kit')
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not osp.isdir(osp.join(KIT, 'wheels')),
                       reason='no .gpu_kit/ (make gpu-kit)'),
]


def test_the_dry_run_passes_every_step(tmp_path):
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1')
    env.pop('PYTHONPATH', None)
    proc = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'gpu', 'check.sh'), '--dry-run',
         str(tmp_path)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:]
    with open(tmp_path / 'gpu_check.json') as f:
        result = json.load(f)
    assert result['dry_run'] is True
    assert {k: v['rc'] for k, v in result['steps'].items()} == dict(
        install=0, mmcv_ops=0, tests=0, bench=0), proc.stdout
    # every CUDA test was collected with the kit's mmcv, and skipped here
    tests = result['tests']
    assert tests['tests'] == tests['skipped'] > 0
    assert tests['failed'] == []
    assert result['op_counts']['WSConv2d'] <= 24
    assert result['eps_shift']['memory']['lasting'] < 2**20  # kept: none
    for log in ('install', 'mmcv_ops', 'tests', 'bench'):
        assert (tmp_path / f'{log}.log').exists()
