"""The GPU end-to-end check: one command for a bare GPU machine.

    bash benchmarks/gpu_e2e.sh [--dry-run] [--cpu-e2e] [--budget-s 420]
                               [--only STAGE,...] [OUT_DIR]

Stages, in order, each time-boxed (a stage that would overrun the total
budget is skipped for time; a failing stage does not stop the later ones):

==================  ========================================================
install             the kit's wheels (``make gpu-kit``) into a temporary
                    target, offline; the machine's own packages untouched
mmcv_ops            mmcv's ``nms``, ``roi_align`` and ``sigmoid_focal_loss``
                    compiled from mmcv's sources (``mmcv_ops_subset``; the
                    build runs in the background from the start), then
                    checked: CUDA against the CPU kernels of the same build
                    (dry run: the CPU build against the installed full mmcv)
unit                ``unit_checks.py``: WSConv2d vs float64, autocast,
                    channels_last, the ε-shifted step, fp16 AmpOptimWrapper
train_mask_rcnn     the toy Mask R-CNN trained by ``tools/train.py --amp``
                    on generated data (400 iterations), then evaluated
tools               ``tools/test.py`` on its checkpoint, ``tools/fold_ws.py``
                    and ``tools/test.py`` of the folded, plugin-free model
dist_resume         ``tools/dist_train.sh CONFIG 1`` (torchrun, nccl):
                    uninterrupted run (on the GPU started beside the
                    other) vs a run killed after its first checkpoint and
                    resumed
train_retinanet     the toy RetinaNet, as train_mask_rcnn
perf                ``perf.py``: WS conv trunk, optimizer step, full
                    Mask R-CNN iteration, side by side with peak memory
                    (last: the first stage to go when time runs short)
==================  ========================================================

Writes OUT_DIR/gpu_e2e.json (rewritten after every stage) and at most six
logs: setup.log, unit.log, train.log, tools.log, perf.log, dist_resume.log.

``--dry-run`` (CPU): install into a temporary target for Python 3.12 (pip
checks every wheel's tags), CPU-only build of the mmcv subset checked
against the installed mmcv, unit and perf checks on CPU at small sizes; the
stages that need CUDA are skipped with their commands recorded, or run on
CPU at a few iterations with ``--cpu-e2e``.  Under Python 3.12 (the twin of
the GPU machine's stack, ``make gpu-twin``) the dry run uses the kit exactly
as the GPU run does: its packages, installed into the target, are the ones
imported, and the mmcv subset is checked against ``.gpu_kit/ops_ref.pt``
(the full mmcv's outputs) when the interpreter has no full mmcv.

mmcv's ops: the module ``make gpu-kit`` prebuilt (``.gpu_kit/prebuilt/``)
when it loads and runs here, else compiled; ``mmcv_ops.build.path`` in the
JSON says which, ``prebuilt_rejected`` why not the prebuilt one.
"""
import argparse
import datetime
import glob
import json
import math
import os
import os.path as osp
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
KIT = os.environ.get('GPU_KIT', osp.join(ROOT, '.gpu_kit'))
MASK_RCNN = ('configs/toy/'
             'mask-rcnn_r18-c32_fpn-c64_gn-ws-all_eps-l2_toy-shapes.py')
RETINANET = ('configs/toy/'
             'retinanet_r18-c32_fpn-c64_gn-ws-all_eps-l2_toy-shapes.py')
# the fp32 CPU demo of the same config (README "Results": `make demo`)
CPU_DEMO_MAP = {'coco/bbox_mAP': 0.898, 'coco/segm_mAP': 0.908}
LOGS = ('setup.log', 'unit.log', 'train.log', 'tools.log', 'perf.log',
        'dist_resume.log')
PY312_TAGS = ['--python-version', '3.12', '--implementation', 'cp',
              '--only-binary=:all:', '--platform', 'manylinux2014_x86_64',
              '--platform', 'manylinux_2_17_x86_64', '--platform',
              'manylinux_2_24_x86_64', '--platform', 'manylinux_2_28_x86_64',
              '--platform', 'any']


class StageFailed(Exception):
    """A stage's check did not pass (the message says which)."""


class Skip(Exception):
    """The stage does not run here (the message says why)."""


class Check:
    """The state shared by the stages."""

    def __init__(self, args):
        self.args = args
        self.dry = args.dry_run
        self.on_cpu = args.dry_run
        self.e2e = not args.dry_run or args.cpu_e2e
        self.use_site = kit_imported(self.dry, sys.version_info)
        # the stages' time limits are the GPU run's; a CPU dry run (shared,
        # a few cores) gets three times as long, within its budget
        self.slack = 3. if self.on_cpu else 1.
        self.out = osp.abspath(args.out_dir)
        os.makedirs(self.out, exist_ok=True)
        for log in LOGS:  # a fresh set of logs
            if osp.exists(osp.join(self.out, log)):
                os.remove(osp.join(self.out, log))
        self.tmp = tempfile.mkdtemp(prefix='gpu_e2e_')
        self.site = osp.join(self.tmp, 'site')
        self.subset = osp.join(self.tmp, 'mmcv_subset')
        self.data = osp.join(self.tmp, 'toy_coco')
        self.work = osp.join(self.tmp, 'work')
        self.start = time.time()
        self.deadline = self.start + args.budget_s
        self.background = {}
        self.data_done = False  # the toy data set generated (background)
        self.current = {}  # the running stage's JSON entry
        self.mask_checkpoint = None  # train_mask_rcnn's, for the tools
        self.result = dict(
            script='benchmarks/gpu_e2e.sh', dry_run=self.dry,
            cpu_e2e=bool(args.cpu_e2e),
            started=datetime.datetime.now().isoformat(timespec='seconds'),
            budget_s=args.budget_s, python=platform.python_version(),
            kit_imported=self.use_site,
            machine=machine(), stages={})

    # ----------------------------------------------------------- helpers
    @property
    def device(self):
        return 'cpu' if self.on_cpu else 'cuda'

    def env(self, with_site=True):
        """Subprocess environment: the subset mmcv, the kit, this repo."""
        paths = [self.subset]
        if with_site and self.use_site:
            paths.append(self.site)
        paths.append(ROOT)
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(
            paths + [p for p in [os.environ.get('PYTHONPATH')] if p])
        env['PYTHON'] = sys.executable  # for tools/dist_train.sh
        env.setdefault('MPLBACKEND', 'Agg')
        env['PYTHONUNBUFFERED'] = '1'
        return env

    def left(self):
        return self.deadline - time.time()

    def run(self, cmd, log, limit, env=None, cwd=ROOT):
        """Run ``cmd`` appending to OUT_DIR/log; raise StageFailed on a
        non-zero exit or when it runs past ``limit`` seconds."""
        limit = max(1., min(limit * self.slack, self.left()))
        with open(osp.join(self.out, log), 'a') as f:
            proc = spawn(cmd, f, env or self.env(), cwd)
            try:
                rc = proc.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                kill_group(proc)
                f.write(f'\n[gpu_e2e] stopped after {limit:.0f} s\n')
                raise StageFailed(f'{osp.basename(str(cmd[1]))} ran past '
                                  f'{limit:.0f} s (see {log})')
        if rc != 0:
            raise StageFailed(f'{" ".join(map(str, cmd[:3]))} exited {rc} '
                              f'(see {log})')

    def start_background(self, name, cmd, env=None):
        log = osp.join(self.tmp, f'{name}.log')
        f = open(log, 'w')
        proc = spawn(cmd, f, env or self.env())
        self.background[name] = (proc, f, log, time.time())

    def wait_background(self, name, limit, into_log='setup.log'):
        """Wait for a background job; its output joins ``into_log``."""
        if name not in self.background:
            raise StageFailed(f'{name} was never started')
        proc, f, log, started = self.background[name]
        try:
            rc = proc.wait(timeout=max(1., min(limit * self.slack,
                                               self.left())))
        except subprocess.TimeoutExpired:
            kill_group(proc)
            rc = None
        f.close()
        with open(log) as src, open(osp.join(self.out, into_log), 'a') as dst:
            dst.write(f'\n# --- {name} (background) ---\n' + src.read())
        if rc is None:
            raise StageFailed(f'{name} ran past its time '
                              f'({time.time() - started:.0f} s)')
        if rc != 0:
            raise StageFailed(f'{name} exited {rc} (see {into_log})')
        with open(log) as src:
            return src.read()

    def wait_data(self):
        """The generated toy data set, once."""
        if not self.data_done:
            self.wait_background('toy_data', 180)
            self.data_done = True

    def stop_background(self):
        for proc, f, *_ in self.background.values():
            if proc.poll() is None:
                kill_group(proc)
            f.close()

    def write(self):
        stages = self.result['stages'].values()
        self.result['summary'] = {
            k: sum(1 for s in stages if s['status'] == k)
            for k in ('passed', 'failed', 'skipped')}
        self.result['total_s'] = round(time.time() - self.start, 1)
        with open(osp.join(self.out, 'gpu_e2e.json'), 'w') as f:
            json.dump(self.result, f, indent=2, default=str)


def kit_imported(dry, version_info) -> bool:
    """Whether the stages import the kit's packages (installed into the
    temporary target): its wheels are for Python 3.12, so on the GPU
    machine and in a dry run under Python 3.12 (the twin of its stack); a
    dry run under another Python uses that interpreter's own packages."""
    return not dry or tuple(version_info[:2]) == (3, 12)


def machine():
    out = dict(platform=platform.platform())
    try:
        import torch
        out.update(torch=torch.__version__, cuda=torch.version.cuda,
                   cuda_available=torch.cuda.is_available())
        if torch.cuda.is_available():
            out['gpu'] = torch.cuda.get_device_name(0)
    except ImportError as e:
        out['torch'] = f'not importable: {e}'
    return out


def spawn(cmd, log_file, env, cwd=ROOT, note=''):
    """Start ``cmd`` in its own process group, output to ``log_file``
    after a ``$ command`` line."""
    log_file.write(f'\n$ {note}{" ".join(map(str, cmd))}\n')
    log_file.flush()
    return subprocess.Popen([str(c) for c in cmd], stdout=log_file,
                            stderr=subprocess.STDOUT, cwd=cwd, env=env,
                            start_new_session=True)


def descendants(pid):
    """The process ids below ``pid`` (from /proc; empty elsewhere)."""
    children = {}
    for entry in os.listdir('/proc') if osp.isdir('/proc') else []:
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                # pid (comm) state ppid ...; comm may hold spaces
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_group(proc):
    """SIGKILL ``proc``'s process group and every process below it: torchrun
    starts its workers in sessions of their own, which a signal to the
    group alone leaves running."""
    below = descendants(proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for pid in below:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def last_json_line(text):
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith('{') and line.endswith('}'):
            return json.loads(line)
    raise StageFailed('no JSON result line in the output')


def coco_metrics(work_dir):
    """The newest record holding ``coco/bbox_mAP`` in a work dir's logs
    (``*/vis_data/scalars.json`` of training, ``*/*.json`` of testing)."""
    files = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')) \
        + glob.glob(osp.join(work_dir, '*', '*.json'))
    best, best_time = None, -1
    for path in files:
        with open(path) as f:
            for line in f:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and 'coco/bbox_mAP' in record \
                        and os.path.getmtime(path) >= best_time:
                    best, best_time = record, os.path.getmtime(path)
    if best is None:
        raise StageFailed(f'no COCO metrics under {work_dir}')
    return {k: v for k, v in best.items() if k.startswith('coco/')}


def train_records(work_dir):
    """Loss and time of every logged training iteration."""
    records = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                          'scalars.json'))):
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if 'loss' in r:
                    records.append(r)
    return records


def last_checkpoint(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


# ================================================================ stages
def stage_install(c):
    wheels = sorted(glob.glob(osp.join(KIT, 'wheels', '*.whl')))
    sdists = glob.glob(osp.join(KIT, 'sdist', 'mmcv-2.1.0.tar.gz'))
    if not wheels or not sdists:
        raise StageFailed(f'the kit is incomplete in {KIT} ({len(wheels)} '
                          'wheels, mmcv sdist '
                          f'{"found" if sdists else "missing"}): run '
                          '`make gpu-kit` where the package registry is '
                          'reachable')
    cmd = [sys.executable, '-m', 'pip', 'install', '--no-index', '--no-deps',
           '--disable-pip-version-check', '--target', c.site, '-q']
    if not c.use_site:  # this Python is not 3.12: pip checks the tags
        cmd += PY312_TAGS
    has_pip = subprocess.run([sys.executable, '-m', 'pip', '--version'],
                             capture_output=True).returncode == 0
    if has_pip:
        c.run(cmd + wheels, 'setup.log', 90, env=os.environ.copy())
    else:  # a wheel is a zip of its install tree
        unpack_wheels(wheels, c.site)
        with open(osp.join(c.out, 'setup.log'), 'a') as f:
            f.write(f'no pip for {sys.executable}: {len(wheels)} wheels '
                    f'unpacked into {c.site}\n')
    names = sorted({osp.basename(p).split('-')[0].lower().replace('_', '-')
                    for p in wheels})
    installed = sorted(
        osp.basename(p).split('-')[0].lower().replace('_', '-')
        for p in glob.glob(osp.join(c.site, '*.dist-info')))
    missing = sorted(set(names) - set(installed))
    if missing:
        raise StageFailed(f'not installed from the kit: {missing}')
    shim = None
    if c.use_site and not imports(c, 'distutils'):
        shim = add_distutils_shim(c.site)
    start_builds(c, sdists[0])
    result = dict(target=c.site, wheels=len(wheels), installed=installed,
                  installer='pip' if has_pip else 'unzip')
    if shim:
        result['distutils_shim'] = shim
    if not c.dry:
        # (mmdet imports mmcv, which comes with the mmcv_ops build)
        probe = ('import importlib, json; print(json.dumps({m: getattr('
                 'importlib.import_module(m), "__version__", "?") for m in '
                 '("mmengine", "pycocotools", "shapely", "terminaltables", '
                 '"addict", "yapf", "termcolor", "pkg_resources")}))')
        env = c.env()
        env['PYTHONPATH'] = c.site  # the kit alone
        out = subprocess.run([sys.executable, '-c', probe], env=env,
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise StageFailed(f'the kit does not import: {out.stderr[-400:]}')
        result['versions'] = last_json_line(out.stdout)
    return result


PREBUILT = osp.join(KIT, 'prebuilt', '_ext_subset.so')
OPS_REF = osp.join(KIT, 'ops_ref.pt')


def build_env(c):
    """The build's environment: this one, plus the kit's target (after the
    machine's own packages) when the kit is imported."""
    env = dict(os.environ)
    if c.use_site:
        env['PYTHONPATH'] = os.pathsep.join(
            [p for p in [env.get('PYTHONPATH')] if p] + [c.site])
    return env


def has_full_mmcv():
    """Whether this interpreter imports a full mmcv build (its own)."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    probe = ('import mmcv._ext as e, sys; '
             'sys.exit(1 if hasattr(e, "COMPILED_OPS") else 0)')
    return subprocess.run([sys.executable, '-c', probe], env=env,
                          capture_output=True, timeout=120).returncode == 0


DISTUTILS_SHIM = '''"""distutils for Python >= 3.12 (none in its standard
library): setuptools' copy, which setuptools' distutils-precedence.pth
provides in a site directory; a --target install's .pth files are not
read (benchmarks/gpu_e2e/run.py).  mmengine's collect_env imports it."""
import importlib
import sys

del sys.modules[__name__]  # setuptools warns of a distutils imported first
import setuptools  # noqa: E402,F401  (puts its distutils in place)
sys.modules[__name__] = importlib.import_module('setuptools._distutils')
'''


def imports(c, module):
    """Whether ``module`` imports with the stages' PYTHONPATH."""
    return subprocess.run([sys.executable, '-c', f'import {module}'],
                          env=c.env(), capture_output=True,
                          timeout=120).returncode == 0


def add_distutils_shim(site):
    """``SITE/distutils``: setuptools' distutils (see DISTUTILS_SHIM)."""
    folder = osp.join(site, 'distutils')
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, '__init__.py'), 'w') as f:
        f.write(DISTUTILS_SHIM)
    return 'distutils -> setuptools._distutils (this Python has none)'


def start_builds(c, sdist):
    """The background jobs the install stage starts."""
    # mmcv: its Python package now (for the unit checks), ops compiled in
    # the background; the toy data set generated in the background
    # (dry run: the objects are kept in build/ for the next dry run of the
    # same Python and torch)
    import torch
    build_dir = osp.join(
        ROOT, 'build', 'gpu_e2e_mmcv_cpu_py%d%d_torch%s' % (
            *sys.version_info[:2], torch.__version__)) if c.dry \
        else osp.join(c.tmp, 'mmcv_build')
    build = [sys.executable, osp.join(HERE, 'mmcv_ops_subset', 'build.py'),
             sdist, c.subset, '--build-dir', build_dir]
    if c.on_cpu:
        build.append('--cpu-only')
    if osp.exists(PREBUILT):
        build += ['--prebuilt', PREBUILT]
    # torch's extension builder imports setuptools: the kit's where the
    # machine has none
    c.start_background('mmcv_build', build, env=build_env(c))
    n_train, n_val = (400, 100) if not c.dry else (16, 8)
    # (the tool imports this package, which only PYTHONPATH provides on
    # the GPU machine)
    c.start_background('toy_data', [
        sys.executable, 'tools/generate_toy_coco.py', c.data, '--train',
        n_train, '--val', n_val])


def run_with_json(c, script, args, log, limit):
    """Run ``benchmarks/gpu_e2e/SCRIPT --device D --json F ARGS``; what it
    wrote to F joins the stage's entry, also when it failed."""
    out = osp.join(c.tmp, script.replace('.py', '.json'))
    try:
        c.run([sys.executable, osp.join(HERE, script), '--device', c.device,
               '--json', out] + args, log, limit)
    finally:
        if osp.exists(out):
            with open(out) as f:
                c.current.update(json.load(f))


def unpack_wheels(wheels, target):
    import zipfile
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            z.extractall(target)


def stage_unit(c):
    # mmcv's Python package is written before the compilation starts
    for _ in range(120):
        if osp.exists(osp.join(c.subset, 'mmcv', '_ext.py')):
            break
        time.sleep(0.5)
    run_with_json(c, 'unit_checks.py', [], 'unit.log', 120)
    return {}


def stage_mmcv_ops(c):
    info = last_json_line(c.wait_background('mmcv_build', 300))
    if 'prebuilt' not in info:
        info['prebuilt_rejected'] = f'none in the kit ({PREBUILT})'
    c.current['build'] = info
    log = 'setup.log'
    if c.on_cpu and has_full_mmcv():  # the CPU kernels vs the full mmcv
        ref = osp.join(c.tmp, 'ops_ref.pt')
        env = dict(os.environ)
        env['PYTHONPATH'] = ROOT
        c.run([sys.executable, osp.join(HERE, 'ops_parity.py'), '--save',
               ref], log, 60, env=env)
        cmd = ['--compare', ref]
        c.current['reference'] = 'the full mmcv of this interpreter'
    elif c.on_cpu:  # (the twin) the full mmcv's outputs saved by the kit
        if not osp.exists(OPS_REF):
            raise StageFailed(f'no full mmcv here and no {OPS_REF} to '
                              'compare with (`make gpu-kit` writes it where '
                              '.venv has mmcv)')
        cmd = ['--compare', OPS_REF]
        c.current['reference'] = OPS_REF
    else:
        cmd = ['--device', 'cuda']
    out = osp.join(c.tmp, 'ops.out')
    env = c.env()
    with open(out, 'w') as f:
        proc = subprocess.run(
            [sys.executable, osp.join(HERE, 'ops_parity.py')] + cmd,
            stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
            timeout=max(1., min(90, c.left())))
    with open(out) as f:
        text = f.read()
    with open(osp.join(c.out, log), 'a') as f:
        f.write('\n# --- ops_parity ---\n' + text)
    try:
        parity = last_json_line(text)
    except StageFailed:
        raise StageFailed(f'ops_parity.py exited {proc.returncode}: '
                          f'{text.strip()[-300:]}')
    c.current['parity'] = parity
    if proc.returncode != 0:
        raise StageFailed(f'ops differ: {parity.get("failed")}')
    return {}


def toy_train(c, name, config, metrics_keys):
    work = osp.join(c.work, name)
    options = [f'data_root={c.data}/']
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', work]
    if c.on_cpu:  # a few iterations, as the config's loader
        options += ['train_cfg.max_iters=4', 'train_cfg.val_interval=4']
    else:  # the config's 400 iterations, images loaded by 4 workers
        cmd.append('--amp')
        options += ['train_dataloader.num_workers=4',
                    'train_dataloader.persistent_workers=True']
    cmd += ['--cfg-options'] + options
    c.current['command'] = ' '.join(cmd)
    if not c.e2e:
        raise Skip('needs CUDA (dry run; --cpu-e2e runs it on CPU)')
    c.wait_data()
    t0 = time.time()
    c.run(cmd, 'train.log', 240)
    records = train_records(work)
    losses = [r['loss'] for r in records]
    try:
        metrics = coco_metrics(work)
    except StageFailed:
        if not c.on_cpu:
            raise
        metrics = 'none: a few CPU iterations detect nothing'
    result = dict(wall_s=round(time.time() - t0, 1),
                  last_logged_iter=records[-1].get(
                      'iter', records[-1].get('step')) if records else None,
                  loss_first=losses[0] if losses else None,
                  loss_last=losses[-1] if losses else None,
                  s_per_iter_last=records[-1].get('time') if records
                  else None, metrics=metrics,
                  checkpoint=last_checkpoint(work))
    if not losses or not all(math.isfinite(x) for x in losses):
        raise StageFailed(f'losses not finite: {losses}')
    if not c.on_cpu:
        deltas = {k: round(metrics[k] - v, 3) for k, v in CPU_DEMO_MAP.items()
                  if k in metrics_keys and k in metrics}
        result['vs_cpu_fp32_demo'] = dict(
            cpu_demo=CPU_DEMO_MAP, delta=deltas,
            within_0_05=all(abs(d) <= 0.05 for d in deltas.values()))
    return result


def stage_train_mask_rcnn(c):
    r = toy_train(c, 'mask_rcnn', MASK_RCNN,
                  ('coco/bbox_mAP', 'coco/segm_mAP'))
    c.mask_checkpoint = r['checkpoint']
    return r


def stage_train_retinanet(c):
    return toy_train(c, 'retinanet', RETINANET, ('coco/bbox_mAP', ))


def stage_tools(c):
    ckpt = c.mask_checkpoint
    if not c.e2e:
        raise Skip('needs the CUDA checkpoint of train_mask_rcnn (dry run)')
    if not ckpt:
        raise Skip('train_mask_rcnn left no checkpoint')
    root = [f'data_root={c.data}/']
    test_dir = osp.join(c.work, 'test')
    c.run([sys.executable, 'tools/test.py', MASK_RCNN, ckpt, '--work-dir',
           test_dir, '--cfg-options'] + root, 'tools.log', 90)
    tested = coco_metrics(test_dir)
    folded = osp.join(c.work, 'folded.pth')
    folded_cfg = osp.join(c.work, 'folded_config.py')
    c.run([sys.executable, 'tools/fold_ws.py', MASK_RCNN, ckpt, folded,
           '--out-config', folded_cfg, '--cfg-options'] + root, 'tools.log',
          60)
    folded_dir = osp.join(c.work, 'test_folded')
    c.run([sys.executable, 'tools/test.py', folded_cfg, folded, '--work-dir',
           folded_dir, '--cfg-options'] + root, 'tools.log', 90)
    folded_metrics = coco_metrics(folded_dir)
    diff = max(abs(folded_metrics[k] - tested[k]) for k in tested
               if k in folded_metrics)
    result = dict(test_metrics=tested, folded_test_metrics=folded_metrics,
                  max_metric_diff_folded=diff)
    if diff > 2e-3:
        raise StageFailed(f'the folded model scores differently '
                          f'(largest difference {diff:.4f})')
    return result


def stage_perf(c):
    # (on CPU the full-detector iteration takes minutes)
    args = ['--tiny', '--only', 'trunk', 'step'] if c.on_cpu else []
    run_with_json(c, 'perf.py', args, 'perf.log', 200)
    return {}


DIST_COMPARE = r'''
import sys, torch
a = torch.load(sys.argv[1], map_location='cpu', weights_only=False)
b = torch.load(sys.argv[2], map_location='cpu', weights_only=False)
sa, sb = a['state_dict'], b['state_dict']
assert sa.keys() == sb.keys(), 'different keys'
diff = max(float((sa[k].double() - sb[k].double()).abs().max()) for k in sa)
scale = max(float(v.double().abs().max()) for v in sa.values())
print('{"max_abs_diff": %r, "max_abs_value": %r, "iter_a": %d, "iter_b": %d}'
      % (diff, scale, a['meta']['iter'], b['meta']['iter']))
'''


def stage_dist_resume(c):
    iters = 4 if c.on_cpu else 40
    options = [f'data_root={c.data}/', f'train_cfg.max_iters={iters}',
               f'train_cfg.val_interval={iters + 1}',
               f'default_hooks.checkpoint.interval={iters // 4}',
               'default_hooks.checkpoint.max_keep_ckpts=-1',
               'env_cfg.dist_cfg.backend=' + ('gloo' if c.on_cpu else 'nccl')]
    full, cut = osp.join(c.work, 'dist_full'), osp.join(c.work, 'dist_cut')
    base = ['bash', 'tools/dist_train.sh', MASK_RCNN, '1']
    c.current['command'] = ' '.join(base + ['--cfg-options'] + options)
    if not c.e2e:
        raise Skip('needs CUDA and nccl (dry run; --cpu-e2e runs it on '
                   'CPU with gloo)')
    c.wait_data()
    if c.on_cpu and os.environ.get('GPU_E2E_DIST_PARALLEL') != '1':
        # (a few CPU cores: one run after the other)
        c.run(base + ['--work-dir', full, '--cfg-options'] + options,
              'dist_resume.log', 120, env=dict(c.env(), PORT='29517'))
        result = dist_cut_and_resume(c, base, options, cut, iters)
        return compare_dist_runs(c, full, cut, iters, result)
    # the uninterrupted run beside the interrupted one (one GPU holds both;
    # each process start costs more than the iterations)
    full_log_path = osp.join(c.tmp, 'dist_full.log')
    full_log = open(full_log_path, 'w')
    env = dict(c.env(), PORT='29517')  # one port per run: no closed socket
    full_proc = spawn(base + ['--work-dir', full, '--cfg-options'] + options,
                      full_log, env, note='(uninterrupted, beside) ')
    full_end = time.time() + min(180 * c.slack, c.left())
    try:
        result = dist_cut_and_resume(c, base, options, cut, iters)
        try:
            rc = full_proc.wait(timeout=max(1., full_end - time.time()))
        except subprocess.TimeoutExpired:
            rc = None
    finally:
        if full_proc.poll() is None:
            kill_group(full_proc)
        full_log.close()
        with open(full_log_path) as src, open(
                osp.join(c.out, 'dist_resume.log'), 'a') as dst:
            dst.write('\n# --- the uninterrupted run ---\n' + src.read())
    if rc is None:
        raise StageFailed('the uninterrupted run ran past its time')
    if rc != 0:
        raise StageFailed(f'the uninterrupted run exited {rc} (see '
                          'dist_resume.log)')
    return compare_dist_runs(c, full, cut, iters, result)


def dist_cut_and_resume(c, base, options, cut, iters):
    """The run killed after its first checkpoint, then resumed."""
    env = dict(c.env(), PORT='29518')
    # the same run, killed once its first checkpoint is on disk
    log = open(osp.join(c.out, 'dist_resume.log'), 'a')
    proc = spawn(base + ['--work-dir', cut, '--cfg-options'] + options, log,
                 env, note='(killed after its first checkpoint) ')
    first = osp.join(cut, f'iter_{iters // 4}.pth')
    t_end = time.time() + min(120 * c.slack, c.left())
    while time.time() < t_end and proc.poll() is None and \
            not osp.exists(first):
        time.sleep(0.05)
    finished_early = proc.poll() is not None
    time.sleep(0.5)  # let the checkpoint file be written completely
    kill_group(proc)
    at_kill = sorted(os.listdir(cut))
    log.write(f'\n[gpu_e2e] killed (exit {proc.returncode})\n')
    log.close()
    if finished_early:
        raise StageFailed('the run to interrupt ended before it was killed')
    if not osp.exists(first):
        raise StageFailed('no checkpoint appeared before the time limit')
    time.sleep(2)  # nothing of the killed run may write on
    if sorted(os.listdir(cut)) != at_kill:
        raise StageFailed('the killed run kept writing to its work dir: '
                          f'{sorted(set(os.listdir(cut)) - set(at_kill))}')
    resumed_from = last_checkpoint(cut)
    env['PORT'] = '29519'
    c.run(base + ['--work-dir', cut, '--resume', '--cfg-options'] + options,
          'dist_resume.log', 120, env=env)
    return dict(iterations=iters, resumed_from=osp.basename(resumed_from))


def compare_dist_runs(c, full, cut, iters, result):
    out = subprocess.run(
        [sys.executable, '-c', DIST_COMPARE,
         osp.join(full, f'iter_{iters}.pth'),
         osp.join(cut, f'iter_{iters}.pth')], env=c.env(),
        capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise StageFailed(f'comparison failed: {out.stderr[-300:]}')
    cmp = last_json_line(out.stdout)
    result.update(cmp)
    # float32 kernels with atomics (roi_align backward) are not bitwise
    # reproducible on a GPU: bounded relative to the largest weight
    bound = 1e-3 * cmp['max_abs_value']
    result['bound'] = bound
    if cmp['iter_a'] != iters or cmp['iter_b'] != iters:
        raise StageFailed(f'ended at iterations {cmp["iter_a"]} / '
                          f'{cmp["iter_b"]}, not {iters}')
    if not cmp['max_abs_diff'] <= bound:
        raise StageFailed(f'resumed run differs by {cmp["max_abs_diff"]:.3g}'
                          f' (bound {bound:.3g})')
    return result


STAGES = (
    ('install', stage_install, 'setup.log'),
    ('unit', stage_unit, 'unit.log'),
    ('mmcv_ops', stage_mmcv_ops, 'setup.log'),
    ('train_mask_rcnn', stage_train_mask_rcnn, 'train.log'),
    ('tools', stage_tools, 'tools.log'),
    ('dist_resume', stage_dist_resume, 'dist_resume.log'),
    ('train_retinanet', stage_train_retinanet, 'train.log'),
    # last: the timings matter least when the budget runs short
    ('perf', stage_perf, 'perf.log'),
)
# what a stage needs from an earlier one
NEEDS = dict(mmcv_ops=('install', ), unit=('install', ),
             train_mask_rcnn=('mmcv_ops', ), tools=('train_mask_rcnn', ),
             perf=('install', ), dist_resume=('mmcv_ops', ),
             train_retinanet=('mmcv_ops', ))
MIN_SECONDS = dict(install=20, unit=20, mmcv_ops=30, train_mask_rcnn=60,
                   tools=40, perf=40, dist_resume=60, train_retinanet=40)


def satisfied(entry) -> bool:
    """A stage that passed, or was skipped for what it does itself (the
    dry run), not for a need or for time."""
    if not entry:
        return False
    return entry['status'] == 'passed' or (entry['status'] == 'skipped'
                                           and not entry.get('blocked'))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description='The GPU end-to-end check (see the module docstring).')
    parser.add_argument('out_dir', nargs='?',
                        default=os.environ.get('OUT') or 'bench_results')
    parser.add_argument('--dry-run', action='store_true',
                        help='on this CPU machine: every stage that needs '
                        'no GPU')
    parser.add_argument('--cpu-e2e', action='store_true',
                        help='with --dry-run: run the training stages on '
                        'CPU at a few iterations')
    parser.add_argument('--budget-s', type=float,
                        help='total seconds (default 420; dry run 900); '
                        'stages that would not fit are skipped for time')
    parser.add_argument('--only', metavar='STAGE[,STAGE...]',
                        help='run these stages (and those they need): '
                        + ', '.join(s[0] for s in STAGES))
    args = parser.parse_args(argv)
    if args.only:
        args.only = args.only.split(',')
        unknown = [n for n in args.only if n not in dict(
            (s[0], s) for s in STAGES)]
        if unknown:
            parser.error(f'--only: unknown stage(s) {unknown}; the stages: '
                         + ', '.join(s[0] for s in STAGES))
    if args.cpu_e2e and not args.dry_run:
        parser.error('--cpu-e2e goes with --dry-run')
    if args.budget_s is None:
        args.budget_s = 900 if args.dry_run else 420
    c = Check(args)
    if not c.dry and not c.result['machine'].get('cuda_available'):
        print('could not run: CUDA is not available here '
              '(use --dry-run on a CPU machine)')
        c.result['stages']['install'] = dict(
            status='failed', reason='CUDA is not available')
        c.write()
        return 2
    wanted = set(args.only or [s[0] for s in STAGES])
    for name in list(wanted):
        wanted.update(NEEDS.get(name, ()))
    if wanted - {'install', 'unit'}:  # mmcv's ops (perf: its iteration)
        wanted.add('mmcv_ops')
    if wanted:
        wanted.add('install')
    print(f'# gpu_e2e: {c.result["machine"]}, budget {args.budget_s:.0f} s, '
          f'out {c.out}')
    try:
        for name, fn, log in STAGES:
            if name not in wanted:
                continue
            c.current = entry = dict(log=log)
            t0 = time.time()
            # a need is met when it passed, or was skipped for the dry run
            failed_needs = [n for n in NEEDS.get(name, ())
                            if not satisfied(c.result['stages'].get(n))]
            try:
                if failed_needs:
                    entry['blocked'] = True
                    raise Skip(f'needs {", ".join(failed_needs)}, which did '
                               'not pass')
                if c.left() < MIN_SECONDS[name]:
                    entry['blocked'] = True
                    raise Skip(f'for time: {c.left():.0f} s of the budget '
                               f'left, the stage needs at least '
                               f'{MIN_SECONDS[name]} s')
                entry.update(fn(c) or {})
                entry['status'] = 'passed'
            except Skip as e:
                entry.update(status='skipped', reason=str(e))
            except StageFailed as e:
                entry.update(status='failed', reason=str(e))
            except Exception as e:  # report it and go on
                entry.update(status='failed',
                             reason=f'{type(e).__name__}: {e}')
            if entry['status'] == 'passed' and entry.get('failed'):
                entry.update(status='failed',
                             reason=f'checks over their bounds: '
                             f'{entry["failed"]}')
            entry['seconds'] = round(time.time() - t0, 1)
            c.result['stages'][name] = entry
            c.write()
            print(f'[{name}] {entry["status"]} in {entry["seconds"]} s'
                  + (f': {entry["reason"]}' if entry.get('reason') else ''))
    finally:
        c.stop_background()
        c.write()
        if not args.dry_run or not os.environ.get('GPU_E2E_KEEP'):
            shutil.rmtree(c.tmp, ignore_errors=True)
    s = c.result['summary']
    print(f'# gpu_e2e: {s["passed"]} passed, {s["failed"]} failed, '
          f'{s["skipped"]} skipped in {c.result["total_s"]} s; '
          f'{osp.join(c.out, "gpu_e2e.json")}')
    return 1 if s['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())
