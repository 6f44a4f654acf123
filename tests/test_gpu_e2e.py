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

#: the GPU check's CPU dry run: builds, installs and trains
pytestmark = pytest.mark.slow

SCRIPT = osp.join(ROOT, 'benchmarks', 'gpu_e2e.sh')
STAGES = ['install', 'unit', 'mmcv_ops', 'train_mask_rcnn', 'tools',
          'dist_resume', 'train_retinanet', 'perf']


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
    # compiled here: the kit has no prebuilt module, or its module (cp312,
    # CUDA, torch 2.11) does not load under this interpreter
    assert ops['build']['path'] == 'compiled'
    assert ops['build']['prebuilt_rejected'].startswith((
        'none in the kit', 'it does not load here')), ops['build']
    assert ops['reference'] == 'the full mmcv of this interpreter'
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
        'mmcv_ops, train_mask_rcnn, tools, dist_resume, train_retinanet, ' \
        'perf' in proc.stdout
    proc = run_e2e(['--dry-run', '--only', 'unit', tmp_path], timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    result = json.loads((tmp_path / 'gpu_e2e.json').read_text())
    assert list(result['stages']) == ['install', 'unit']
    assert result['summary'] == dict(passed=2, failed=0, skipped=0)


# ------------------------------------------------ the pieces, without a run
def gpu_e2e_module(name):
    """benchmarks/gpu_e2e/NAME.py or mmcv_ops_subset/build.py, imported."""
    import importlib.util
    path = osp.join(ROOT, 'benchmarks', 'gpu_e2e', *name.split('/')) + '.py'
    spec = importlib.util.spec_from_file_location(
        'gpu_e2e_' + name.replace('/', '_'), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_toolkit(folder):
    """A folder that looks like a CUDA toolkit to find_cuda_home."""
    os.makedirs(folder / 'bin')
    os.makedirs(folder / 'include' / 'crt')
    (folder / 'bin' / 'nvcc').write_bytes(b'\x7fELF' + b'\0' * 60)
    (folder / 'bin' / 'nvcc').chmod(0o755)
    (folder / 'include' / 'crt' / 'host_defines.h').write_text('')
    return str(folder)


def test_cuda_home_follows_an_nvcc_wrapper_script(tmp_path):
    """The nvcc on PATH is a two-line script in a folder whose parent is no
    toolkit (it holds only the nvidia-* wheels' headers): the toolkit is
    the one the script executes, not the folder above the script."""
    build = gpu_e2e_module('mmcv_ops_subset/build')
    toolkit = fake_toolkit(tmp_path / 'cuda-13.0')
    wrapper = tmp_path / 'usr_local' / 'bin'
    os.makedirs(wrapper)
    os.makedirs(tmp_path / 'usr_local' / 'include')  # no crt/ there
    (wrapper / 'nvcc').write_text(f'#!/bin/sh\nexec {toolkit}/bin/nvcc "$@"\n')
    (wrapper / 'nvcc').chmod(0o755)
    home, how = build.find_cuda_home({'PATH': str(wrapper)})
    assert home == toolkit
    assert how == (f'nvcc on PATH ({wrapper}/nvcc) is a script that runs '
                   f'{toolkit}/bin/nvcc')
    # a CUDA_HOME without the compiler's headers is passed over
    home, how = build.find_cuda_home({'PATH': str(wrapper), 'CUDA_HOME': str(
        tmp_path / 'usr_local')})
    assert home == toolkit
    # a valid CUDA_HOME wins
    other = fake_toolkit(tmp_path / 'other')
    assert build.find_cuda_home({'PATH': str(wrapper), 'CUDA_HOME': other}) \
        == (other, '$CUDA_HOME')
    # an nvcc linked (not wrapped) into PATH
    linked = tmp_path / 'linked'
    os.makedirs(linked)
    os.symlink(f'{toolkit}/bin/nvcc', linked / 'nvcc')
    home, how = build.find_cuda_home({'PATH': str(linked)})
    assert home == toolkit and how.endswith(f'-> {toolkit}/bin/nvcc')


def test_cuda_home_not_found_is_named(tmp_path):
    build = gpu_e2e_module('mmcv_ops_subset/build')
    wrapper = tmp_path / 'bin'
    os.makedirs(wrapper)
    (wrapper / 'nvcc').write_text('#!/bin/sh\nexec /nowhere/bin/nvcc "$@"\n')
    (wrapper / 'nvcc').chmod(0o755)
    home, how = build.find_cuda_home({'PATH': str(wrapper)}, defaults=[
        str(tmp_path)])
    assert home is None
    assert how.startswith('no CUDA toolkit') and str(wrapper) in how
    toolkit = fake_toolkit(tmp_path / 'cuda-13.0')
    assert build.find_cuda_home({'PATH': str(wrapper)}, defaults=[
        str(tmp_path), toolkit]) == (toolkit, f'{toolkit} (default location)')


def test_a_prebuilt_module_that_does_not_load_is_rejected(tmp_path):
    build = gpu_e2e_module('mmcv_ops_subset/build')
    dest = tmp_path / 'dest'
    os.makedirs(dest / 'mmcv')
    ok, why = build.try_prebuilt(str(tmp_path / 'absent.so'), str(dest), True)
    assert not ok and why == f'no prebuilt module at {tmp_path}/absent.so'
    bad = tmp_path / '_ext_subset.so'
    bad.write_bytes(b'\x7fELF not really a module')
    ok, why = build.try_prebuilt(str(bad), str(dest), False)
    assert not ok and why.startswith('it does not load here: ImportError'), \
        why
    assert not (dest / 'mmcv' / '_ext_subset.so').exists()


def test_the_kit_is_imported_on_the_gpu_machine_and_under_python_312():
    run = gpu_e2e_module('run')
    assert run.kit_imported(False, (3, 11, 7)) is True   # GPU run
    assert run.kit_imported(True, (3, 12, 1)) is True    # the twin
    assert run.kit_imported(True, (3, 11, 7)) is False   # .venv: cp311


def linked_kit(kit, into):
    """A kit of links to the wheels and sdist of ``kit``."""
    for part in ('wheels', 'sdist'):
        os.makedirs(into / part)
        for name in os.listdir(osp.join(kit, part)):
            os.symlink(osp.join(kit, part, name), into / part / name)
    return into


def test_gpu_kit_without_the_twin_has_no_prebuilt_ops(kit, tmp_path):
    fake = linked_kit(kit, tmp_path / 'kit')
    env = env_with_repo()
    env.update(GPU_KIT=str(fake), GPU_TWIN=str(tmp_path / 'no_twin'))
    proc = subprocess.run(['bash', osp.join(ROOT, 'tools', 'make_gpu_kit.sh')],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert f'[gpu-kit] no prebuilt CUDA ops (no {tmp_path}/no_twin: make ' \
        'gpu-twin); the GPU run compiles them' in proc.stdout
    assert not (fake / 'prebuilt').exists()
    assert '[gpu-kit] downloading' not in proc.stdout  # offline


def test_a_broken_prebuilt_module_falls_back_to_compiling(kit, tmp_path):
    fake = linked_kit(kit, tmp_path / 'kit')
    os.makedirs(fake / 'prebuilt')
    (fake / 'prebuilt' / '_ext_subset.so').write_bytes(b'\x7fELF truncated')
    env = env_with_repo()
    env['GPU_KIT'] = str(fake)
    proc = run_e2e(['--dry-run', '--only', 'mmcv_ops', tmp_path / 'out'],
                   env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:]
    result = json.loads((tmp_path / 'out' / 'gpu_e2e.json').read_text())
    ops = result['stages']['mmcv_ops']
    assert ops['status'] == 'passed'
    assert ops['build']['path'] == 'compiled'
    assert ops['build']['prebuilt'] == str(fake / 'prebuilt' /
                                           '_ext_subset.so')
    assert ops['build']['prebuilt_rejected'].startswith(
        'it does not load here: ImportError'), ops['build']


def test_background_jobs_import_this_package_and_the_kit(tmp_path,
                                                         monkeypatch):
    """On the GPU machine this package is not installed: the toy data
    generator (tools/generate_toy_coco.py imports it) must get the repo on
    PYTHONPATH; the mmcv build gets the kit's target (its setuptools) when
    the kit is imported."""
    run = gpu_e2e_module('run')
    monkeypatch.delenv('PYTHONPATH', raising=False)
    args = run.argparse.Namespace(dry_run=False, cpu_e2e=False,
                                  budget_s=60, out_dir=str(tmp_path))
    c = run.Check(args)
    started = {}
    c.start_background = lambda name, cmd, env=None: started.update(
        {name: (cmd, env or c.env())})
    try:
        run.start_builds(c, 'mmcv-2.1.0.tar.gz')
    finally:
        run.shutil.rmtree(c.tmp, ignore_errors=True)
    cmd, env = started['toy_data']
    assert cmd[1] == 'tools/generate_toy_coco.py'
    assert ROOT in env['PYTHONPATH'].split(os.pathsep)
    cmd, env = started['mmcv_build']
    assert cmd[1].endswith('build.py') and '--cpu-only' not in cmd
    assert env['PYTHONPATH'].split(os.pathsep)[-1] == c.site


def test_distutils_shim_gives_setuptools_copy(tmp_path):
    """Python 3.12 has no distutils and a --target install reads no .pth
    file: the shim makes ``from distutils import errors`` (mmengine's
    collect_env) find setuptools' copy."""
    run = gpu_e2e_module('run')
    site = tmp_path / 'site'
    run.add_distutils_shim(str(site))
    env = dict(os.environ, PYTHONPATH=str(site))
    proc = subprocess.run(
        [sys.executable, '-W', 'always', '-c', 'from distutils import errors;'
         ' import distutils, setuptools; print(distutils.__file__); '
         'print(errors.DistutilsError.__module__)'],
        env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'Distutils was imported before Setuptools' not in proc.stderr
    path, module = proc.stdout.split()
    assert path.endswith(osp.join('setuptools', '_distutils', '__init__.py'))
    assert module == 'distutils.errors'


def test_kill_group_also_kills_workers_in_their_own_session(tmp_path):
    """torchrun starts its workers with start_new_session=True: killing the
    launcher's process group alone left the 'killed' run training on (and
    writing checkpoints beside the resumed run)."""
    run = gpu_e2e_module('run')
    pid_file = tmp_path / 'worker.pid'
    launcher = (
        'import subprocess, sys, time\n'
        'w = subprocess.Popen([sys.executable, "-c", "import time; '
        'time.sleep(60)"], start_new_session=True)\n'
        f'open({str(pid_file)!r}, "w").write(str(w.pid))\n'
        'time.sleep(60)\n')
    with open(tmp_path / 'log', 'w') as log:
        proc = run.spawn([sys.executable, '-c', launcher], log, dict(
            os.environ), cwd=str(tmp_path))
        for _ in range(200):
            if pid_file.exists() and pid_file.read_text():
                break
            import time
            time.sleep(0.05)
        worker = int(pid_file.read_text())
        assert worker in run.descendants(proc.pid)
        run.kill_group(proc)
    import time
    for _ in range(100):  # the worker is gone (a zombie until reaped)
        try:
            with open(f'/proc/{worker}/stat') as f:
                state = f.read().rsplit(')', 1)[1].split()[0]
        except OSError:
            break
        if state == 'Z':
            break
        time.sleep(0.05)
    else:
        os.kill(worker, 9)
        pytest.fail('the worker in its own session survived kill_group')


def test_timing_plan_from_dry_runs(tmp_path):
    plan = gpu_e2e_module('timing_plan')
    run = gpu_e2e_module('run')
    assert plan.LIMIT_S == 420  # the GPU run's default --budget-s
    assert "'--budget-s'" in open(run.__file__).read() and \
        'args.budget_s = 900 if args.dry_run else 420' in open(
            run.__file__).read()

    def result(train_s, s_per_iter, dist_s):
        return dict(stages=dict(
            train_mask_rcnn=dict(status='passed', seconds=train_s,
                                 s_per_iter_last=s_per_iter),
            dist_resume=dict(status='passed', seconds=dist_s),
            tools=dict(status='failed', seconds=1.0)))

    rows = plan.fastest([result(50.0, 5.0, 120.0), result(30.0, 2.0, 180.0)])
    assert [r[0] for r in rows] == ['train_mask_rcnn', 'dist_resume']
    train, dist = rows
    # 30 s less 4 CPU iterations of 2 s: 22 s CPU-bound, halved, plus one
    # CUDA start, one evaluation and 400 iterations at 0.12 s
    assert train == ('train_mask_rcnn', 30.0, 22.0, 58.0, 69)
    # the faster run; two of three process starts on the GPU
    assert dist[1:3] == (120.0, 80.0)
    assert dist[4] == round(40.0 + (15 + 10 + 80 * 0.12) * 2 / 3)
    path = tmp_path / 'r.json'
    path.write_text(json.dumps(result(30.0, 2.0, 2000.0)))
    assert plan.main([str(path)]) == 1  # over 420 s


def test_a_killed_build_leaves_no_lock_to_wait_on(tmp_path):
    """torch's extension builder waits forever on the ``lock`` file of a
    build that was killed (a stage past its time): the next build.py on the
    folder removes it, once it holds the folder's flock."""
    build = gpu_e2e_module('mmcv_ops_subset/build')
    (tmp_path / 'lock').write_text('')
    handle, removed = build.own_build_dir(str(tmp_path))
    assert removed is True and not (tmp_path / 'lock').exists()
    # a second builder waits while the first holds the folder
    probe = ('import fcntl, sys; f = open(sys.argv[1], "w"); '
             'fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)')
    flock = str(tmp_path / '.build.flock')
    held = subprocess.run([sys.executable, '-c', probe, flock],
                          capture_output=True, text=True, timeout=60)
    assert held.returncode != 0 and 'BlockingIOError' in held.stderr
    handle.close()
    free = subprocess.run([sys.executable, '-c', probe, flock],
                          capture_output=True, text=True, timeout=60)
    assert free.returncode == 0, free.stderr
    handle, removed = build.own_build_dir(str(tmp_path))
    assert removed is False
    handle.close()
