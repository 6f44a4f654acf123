"""benchmarks/gpu_e2e.sh on this CPU machine: the dry run (every stage that
needs no GPU) and the messages of the plumbing."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from helpers.toy import ROOT, env_with_repo

SCRIPT = osp.join(ROOT, 'benchmarks', 'gpu_e2e.sh')
STAGES = ['install', 'unit', 'mmcv_ops', 'train_mask_rcnn', 'tools', 'perf',
          'dist_resume', 'train_retinanet']


def run_e2e(args, env=None, timeout=1200):
    env = env or env_with_repo()
    env.setdefault('PYTHON', sys.executable)  # the tests' interpreter
    return subprocess.run(['bash', SCRIPT] + [str(a) for a in args], cwd=ROOT,
                          env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)


@pytest.fixture(scope='module')
def kit():
    """The wheels and mmcv source of `make gpu-kit` (offline when there)."""
    proc = subprocess.run(['bash', osp.join(ROOT, 'tools', 'make_gpu_kit.sh')],
                          cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:]
    return osp.join(ROOT, '.gpu_kit')


@pytest.fixture(scope='module')
def dry_run(kit, tmp_path_factory):
    out = tmp_path_factory.mktemp('gpu_e2e')
    proc = run_e2e(['--dry-run', out])
    assert proc.returncode == 0, proc.stdout[-4000:]
    with open(out / 'gpu_e2e.json') as f:
        return out, json.load(f), proc.stdout


def test_dry_run_stages_and_files(dry_run):
    out, result, stdout = dry_run
    assert result['dry_run'] is True
    assert list(result['stages']) == STAGES
    status = {k: v['status'] for k, v in result['stages'].items()}
    assert status == dict(install='passed', unit='passed', mmcv_ops='passed',
                          perf='passed', train_mask_rcnn='skipped',
                          tools='skipped', dist_resume='skipped',
                          train_retinanet='skipped')
    assert result['summary'] == dict(passed=4, failed=0, skipped=4)
    logs = sorted(p for p in os.listdir(out) if p.endswith('.log'))
    assert logs == ['perf.log', 'setup.log', 'unit.log']
    assert '4 passed, 0 failed, 4 skipped' in stdout


def test_dry_run_installs_every_wheel_of_the_kit_for_python_312(dry_run):
    install = dry_run[1]['stages']['install']
    assert install['wheels'] == 11
    assert {'mmengine', 'mmdet', 'pycocotools', 'shapely', 'setuptools',
            'yapf', 'addict', 'termcolor', 'terminaltables',
            'platformdirs', 'six'} == set(install['installed'])


def test_dry_run_builds_the_mmcv_subset_equal_to_mmcv(dry_run):
    ops = dry_run[1]['stages']['mmcv_ops']
    assert ops['build']['devices'] == ['cpu']
    assert ops['build']['compiled_ops'] == [
        'nms', 'roi_align_forward', 'roi_align_backward',
        'sigmoid_focal_loss_forward', 'sigmoid_focal_loss_backward',
        'get_compiler_version', 'get_compiling_cuda_version']
    parity = ops['parity']
    assert parity['mmcv'].endswith(osp.join('mmcv_subset', 'mmcv',
                                            '__init__.py'))
    assert parity['vs'] == 'reference file'
    assert parity['nms_keep_equal'] is True
    assert parity['nms_kept'] == 256
    for key in ('roi_align_forward_s0', 'roi_align_backward_s0',
                'roi_align_forward_s2', 'roi_align_backward_s2'):
        assert parity[key] <= 1e-6, key
    assert "mmcv op 'deform_conv_forward' is not in this partial build" in \
        parity['not_compiled_message']


def test_dry_run_unit_checks_on_cpu(dry_run):
    checks = dry_run[1]['stages']['unit']['checks']
    assert checks['ws_conv_fp32_forward']['value'] < 1e-5
    assert checks['ws_conv_fp32_grad_weight']['value'] < 1e-4
    assert checks['ws_conv_channels_last_forward']['value'] < 1e-5
    assert checks['ws_conv_autocast_bfloat16_dtype']['ok'] is True
    assert checks['eps_step_coupled_sgd_batched']['value'] < 1e-6
    assert checks['eps_step_coupled_sgd_per_tensor']['value'] < 1e-6
    assert checks['amp_optim_wrapper']['skipped'] == \
        'AmpOptimWrapper runs on CUDA only'
    assert all(c['ok'] is not False for c in checks.values())


def test_dry_run_perf_plumbing(dry_run):
    perf = dry_run[1]['stages']['perf']
    assert perf['errors'] == {}
    assert set(perf['trunk']['fp32']) == {
        'WSConv2d', 'mmcv ConvWS2d', 'plain Conv2d', 'WSConv2d_to_mmcv_median'}
    assert perf['trunk']['fp32']['plain Conv2d']['ratio_median'] == 1.0
    step = perf['step']
    assert step['numel_millions'] == 45.71  # Mask R-CNN R-50-FPN GN+WS
    assert step['shifted_weights'] == 69
    assert set(step['steps']) == {
        'eps-shifted (SGD default)', 'eps-shifted (SGD fused=True)',
        'SGD fused=True', 'SGD foreach=True'}


def test_dry_run_records_the_gpu_commands(dry_run):
    stages = dry_run[1]['stages']
    train = stages['train_mask_rcnn']
    assert train['reason'].startswith('needs CUDA')
    assert 'tools/train.py configs/toy/mask-rcnn_' in train['command']
    assert '--amp' not in train['command']  # on CPU; --amp on the GPU
    assert stages['dist_resume']['command'].startswith(
        'bash tools/dist_train.sh configs/toy/mask-rcnn_')
    assert 'env_cfg.dist_cfg.backend=gloo' in stages['dist_resume']['command']


def test_missing_kit_is_named_and_later_stages_skip(tmp_path):
    env = env_with_repo()
    env['GPU_KIT'] = str(tmp_path / 'no_kit')
    proc = run_e2e(['--dry-run', tmp_path / 'out'], env=env, timeout=120)
    assert proc.returncode == 1, proc.stdout[-2000:]
    result = json.loads((tmp_path / 'out' / 'gpu_e2e.json').read_text())
    install = result['stages']['install']
    assert install['status'] == 'failed'
    assert 'run `make gpu-kit`' in install['reason']
    assert str(tmp_path / 'no_kit') in install['reason']
    assert result['stages']['unit']['status'] == 'skipped'
    assert result['stages']['unit']['reason'] == \
        'needs install, which did not pass'
    assert result['stages']['perf']['reason'] == \
        'needs install, which did not pass'
    assert result['stages']['dist_resume']['reason'] == \
        'needs mmcv_ops, which did not pass'
    assert result['summary'] == dict(passed=0, failed=1, skipped=7)


def test_budget_too_small_skips_for_time(tmp_path):
    proc = run_e2e(['--dry-run', '--budget-s', '5', tmp_path], timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]
    result = json.loads((tmp_path / 'gpu_e2e.json').read_text())
    assert result['stages']['install']['status'] == 'skipped'
    reason = result['stages']['install']['reason']
    assert reason.startswith('for time: ')
    assert reason.endswith('s of the budget left, the stage needs at least '
                           '20 s')
    assert result['stages']['unit']['reason'] == \
        'needs install, which did not pass'
    assert result['summary'] == dict(passed=0, failed=0, skipped=8)


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a CPU machine')
def test_without_cuda_a_real_run_refuses(tmp_path):
    proc = run_e2e([tmp_path], timeout=60)
    assert proc.returncode == 2
    assert 'could not run: CUDA is not available here (use --dry-run on a ' \
        'CPU machine)' in proc.stdout


def test_cpu_e2e_needs_dry_run(tmp_path):
    proc = run_e2e(['--cpu-e2e', tmp_path], timeout=60)
    assert proc.returncode == 2
    assert '--cpu-e2e goes with --dry-run' in proc.stdout


def test_summary_of_the_json_for_the_readme(dry_run):
    out = dry_run[0]
    proc = subprocess.run(
        [sys.executable,
         osp.join(ROOT, 'benchmarks', 'gpu_e2e', 'summarize.py'),
         out / 'gpu_e2e.json'], stdout=subprocess.PIPE, text=True,
        timeout=60)
    assert proc.returncode == 0
    text = proc.stdout
    assert text.startswith('gpu_e2e on CPU (dry run), torch ')
    assert '| install | passed |' in text
    assert '| train_mask_rcnn | skipped |' in text
    assert 'vs reference file: nms same indices True' in text
    assert '**optimizer step, 45.71 M parameters, 69 shifted weights**' in \
        text
    assert '| plain Conv2d |' in text and '| 1.000 (1.000-1.000) |' in text


def test_only_runs_the_named_stages_and_what_they_need(kit, tmp_path):
    proc = run_e2e(['--dry-run', '--only', 'unit', tmp_path], timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    result = json.loads((tmp_path / 'gpu_e2e.json').read_text())
    assert list(result['stages']) == ['install', 'unit']
    proc = run_e2e(['--dry-run', '--only', 'unit,tool', tmp_path],
                   timeout=60)
    assert proc.returncode == 2
    assert "--only: unknown stage(s) ['tool']; the stages: install, unit, " \
        'mmcv_ops, train_mask_rcnn, tools, perf' in proc.stdout
    proc = run_e2e(['--dry-run', '--only', 'unit', tmp_path], timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    result = json.loads((tmp_path / 'gpu_e2e.json').read_text())
    assert list(result['stages']) == ['install', 'unit']
    assert result['summary'] == dict(passed=2, failed=0, skipped=0)
