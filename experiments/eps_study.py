"""What ε does, measured: a seeded grid of toy GN+WS Mask R-CNN runs.

    python experiments/eps_study.py --out DIR [--quick] [--report-only]
        [--seeds 3] [--iters 150] [--batch 4] [--eps-near X]

Trains the toy GN+WS Mask R-CNN
(``configs/toy/mask-rcnn_r18-c32_fpn-c64_gn-ws-all_eps-l2_toy-shapes.py``)
on generated data, one run per arm, seed and data set, **only** through the
command-line tools of this repository (``tools/generate_toy_coco.py``,
``tools/train.py``, ``tools/analysis/plot_weight_stats.py``, each in a
subprocess), and reads every result back from the work dirs
(``<run>/<timestamp>/vis_data/scalars.json`` and the train log).

Arms (λ on the weights of the WS convs only: their ``custom_keys``
``weight_decay``, in a config file per λ that inherits the toy config,
``DIR/configs/lam<λ>.py`` (:func:`study_config`); every other parameter
keeps the optimizer's weight_decay of 1e-4):

* ``lam0``: λ = 0 (ε is then irrelevant);
* ``lam1e-4_eps0`` / ``lam1e-2_eps0``: plain weight decay (ε = 0);
* ``lam*_eps1e-3``: the paper's ε = 1e-3;
* ``lam*_epsnear``: ε near the filter std σ the runs reach: the minimum σ
  of the first ``lam1e-2_eps0`` run, rounded to one significant digit,
  written to ``DIR/eps_near.json`` so that a resumed grid keeps it
  (``--eps-near`` sets it instead).

Data sets: ``shapes128`` (the generator's defaults: squares, circles and
triangles, 128 px) and ``pairs96`` (two classes under other names, 96 px,
another generator seed).  Runs are ordered seed by seed, so a grid stopped
early has whole seeds of every arm.

Each run's work dir ``DIR/runs/<data>/<arm>/seed<k>`` keeps mmengine's
logs, the train log (``train.log``) and ``result.json``, the summary read
back from the logs; a run with a ``result.json`` is skipped, so the
command resumes.  ``--report-only`` trains nothing: it rebuilds the tables
between the ``eps-study`` markers of the report and the plots from
whatever finished.

The largest |∂L/∂w| of any WS weight is not logged by WeightStatsHook; the
study reports the largest logged L2 norm of a layer group's loss gradient
(``ws/<group>/task_grad_norm``, after clipping), an upper bound of it, and
the largest 10-iteration mean of mmengine's pre-clipping total ``grad_norm``.

``--quick`` (the test): one seed, the two arms λ = 1e-2 with ε = 0 and with
ε = 5e-2 (well above the σ of the convs), 30 iterations of batch 2 on a
small generated set; report and plots in ``DIR``.
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import shutil
import statistics
import subprocess
import sys
import time
from collections import OrderedDict

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join('configs', 'toy',
                  'mask-rcnn_r18-c32_fpn-c64_gn-ws-all_eps-l2_toy-shapes.py')
REPORT = osp.join(ROOT, 'experiments', 'results', 'EPS_STUDY.md')
PLOTS = osp.join(ROOT, 'experiments', 'results', 'eps_study')
BEGIN = '<!-- eps-study: generated tables begin -->'
END = '<!-- eps-study: generated tables end -->'
FP16_MAX = 65504.0
MOMENTUM = 0.9
LR = 0.04
WARMUP = 10
#: ``custom_keys`` that match exactly the WS conv weights of the toy
#: Mask R-CNN (backbone convs and shortcuts, FPN, RoI head convs)
WS_WEIGHT_KEYS = ('conv1.weight', 'conv2.weight', 'downsample.0.weight',
                  '.conv.weight')

# name -> (generator flags, Resize scale, class names)
DATASETS = OrderedDict([
    ('shapes128', ([], 128, ['square', 'circle', 'triangle'])),
    ('pairs96', (['--size', '96', '--seed', '1', '--classes', 'disc=circle',
                  'tri=triangle'], 96, ['disc', 'tri'])),
])
QUICK_DATA = ('quick64', (['--size', '64', '--train', '48', '--val', '16'],
                          64, ['square', 'circle', 'triangle']))

NEAR = 'near'


def arms_of(quick: bool):
    """``[(name, λ, ε)]``; ε = NEAR stands for the value read from a run."""
    if quick:
        return [('lam1e-2_eps0', 1e-2, 0.0), ('lam1e-2_eps5e-2', 1e-2, 5e-2)]
    return [('lam0', 0.0, 0.0),
            ('lam1e-4_eps0', 1e-4, 0.0), ('lam1e-4_eps1e-3', 1e-4, 1e-3),
            ('lam1e-4_epsnear', 1e-4, NEAR),
            ('lam1e-2_eps0', 1e-2, 0.0), ('lam1e-2_eps1e-3', 1e-2, 1e-3),
            ('lam1e-2_epsnear', 1e-2, NEAR)]


# ---------------------------------------------------------------- running
def subprocess_env(repo: str, threads: int) -> dict:
    env = dict(os.environ)
    env['PYTHONPATH'] = repo + (os.pathsep + env['PYTHONPATH']
                                if env.get('PYTHONPATH') else '')
    for key in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        env[key] = str(threads)
    return env


def check_package(python: str, repo: str, env: dict) -> str:
    """The ``mmdet_eps_l2`` the subprocesses import; it must be ``repo``'s."""
    out = subprocess.run(
        [python, '-c', 'import mmdet_eps_l2; print(mmdet_eps_l2.__file__)'],
        cwd=repo, env=env, capture_output=True, text=True)
    path = out.stdout.strip()
    if out.returncode != 0 or not osp.realpath(path).startswith(
            osp.realpath(repo) + os.sep):
        sys.exit(f'eps_study: the subprocesses import mmdet_eps_l2 from '
                 f'{path or out.stderr.strip()!r}, not from {repo}')
    return path


def git_commit(repo: str) -> str:
    out = subprocess.run(['git', '-C', repo, 'rev-parse', 'HEAD'],
                         capture_output=True, text=True)
    commit = out.stdout.strip() if out.returncode == 0 else 'unknown'
    dirty = subprocess.run(['git', '-C', repo, 'status', '--porcelain',
                            '--untracked-files=no'],
                           capture_output=True, text=True).stdout.strip()
    return commit + (' (with uncommitted changes)' if dirty else '')


def generate(python, repo, env, out_dir, name, flags, quick):
    root = osp.join(out_dir, 'data', name)
    if osp.isfile(osp.join(root, 'annotations', 'instances_val.json')):
        return root
    extra = [] if quick else ['--train', '400', '--val', '100']
    cmd = [python, osp.join(repo, 'tools', 'generate_toy_coco.py'), root,
           *extra, *flags]
    subprocess.run(cmd, cwd=repo, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return root


def run_options(data_root, scale, classes, eps, seed, iters, batch,
                interval):
    opts = [
        f'data_root={data_root}/',
        f'randomness.seed={seed}',
        f'optim_wrapper.optimizer.lr={LR}',
        f'optim_wrapper.paramwise_cfg.eps_l2.eps={eps!r}',
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters}',
        # warm-up, then a constant lr (the step milestone sits at the end)
        f'param_scheduler.0.end={WARMUP}',
        f'param_scheduler.1.end={iters}',
        f'param_scheduler.1.milestones=[{iters}]',
        f'train_dataloader.batch_size={batch}',
        f'custom_hooks.0.interval={interval}',
        'default_hooks.checkpoint.save_last=False',
        f'default_hooks.logger.interval={interval}',
        f'log_processor.window_size={interval}',
    ]
    if scale != 128:
        opts += [f'train_dataloader.dataset.pipeline.2.scale=({scale},{scale})',
                 f'val_dataloader.dataset.pipeline.1.scale=({scale},{scale})',
                 f'test_dataloader.dataset.pipeline.1.scale=({scale},{scale})']
    if len(classes) != 3 or classes != ['square', 'circle', 'triangle']:
        names = '[' + ','.join(classes) + ']'
        opts += [f'train_dataloader.dataset.metainfo.classes={names}',
                 f'val_dataloader.dataset.metainfo.classes={names}',
                 f'test_dataloader.dataset.metainfo.classes={names}',
                 f'model.roi_head.bbox_head.num_classes={len(classes)}',
                 f'model.roi_head.mask_head.num_classes={len(classes)}']
    return opts


def study_config(out, lam) -> str:
    """A config file giving λ to the WS conv weights of the toy config."""
    path = osp.join(out, 'configs', f'lam{lam:g}.py')
    os.makedirs(osp.dirname(path), exist_ok=True)
    keys = ', '.join(f'{k!r}: dict(weight_decay={lam!r})'
                     for k in WS_WEIGHT_KEYS)
    with open(path, 'w') as f:
        f.write(f'_base_ = {osp.join(ROOT, CONFIG)!r}\n'
                f'optim_wrapper = dict(paramwise_cfg=dict(custom_keys={{'
                f'{keys}}}))\n')
    return path


def train_one(python, repo, env, work_dir, config, opts):
    """Train one run; ``(returncode, wall seconds, cpu seconds)``."""
    if osp.isdir(work_dir):  # an unfinished earlier attempt
        shutil.rmtree(work_dir)
    os.makedirs(work_dir)
    cmd = [python, osp.join(repo, 'tools', 'train.py'), config,
           '--work-dir', work_dir, '--cfg-options', *opts]
    with open(osp.join(work_dir, 'cmd.json'), 'w') as f:
        json.dump(cmd, f, indent=1)
    start = time.time()
    with open(osp.join(work_dir, 'train.log'), 'w') as log:
        proc = subprocess.Popen(cmd, cwd=repo, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        # this child's own CPU time, also when several runs share the pool
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = rc = os.waitstatus_to_exitcode(status)
    return rc, time.time() - start, usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- reading
def newest_scalars(work_dir):
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    return files[-1] if files else None


def _finite(v):
    return isinstance(v, (int, float)) and math.isfinite(v)


def read_run(work_dir):
    """The summary of one finished run from its logs, or None."""
    path = newest_scalars(work_dir)
    if path is None:
        return None
    metrics, losses, grad_norms = {}, [], []
    groups = OrderedDict()  # group -> stat -> [(step, value)]
    nonfinite = 0
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            step = record.get('step')
            if 'coco/bbox_mAP' in record:
                metrics = record
            for key, value in record.items():
                if key.startswith('ws/'):
                    group, stat = key[3:].rsplit('/', 1)
                    groups.setdefault(group, OrderedDict()).setdefault(
                        stat, []).append((step, value))
                    if stat.endswith('grad_norm') and not _finite(value):
                        nonfinite += 1
                elif key == 'loss' or key.startswith('loss_'):
                    if not _finite(value):
                        nonfinite += 1
                    if key == 'loss':
                        losses.append((step, value))
                elif key == 'grad_norm':
                    if not _finite(value):
                        nonfinite += 1
                    grad_norms.append((step, value))
    if not metrics:
        return None
    last = {g: {s: v[-1][1] for s, v in stats.items()}
            for g, stats in groups.items()}

    def over_groups(stat, fn):
        values = [s[stat] for s in last.values() if stat in s]
        return fn(values) if values else None

    task = [v for stats in groups.values()
            for _, v in stats.get('task_grad_norm', [])]
    near = over_groups('near_eps_frac', statistics.mean)
    return OrderedDict(
        bbox_mAP=metrics['coco/bbox_mAP'],
        segm_mAP=metrics['coco/segm_mAP'],
        final_loss=losses[-1][1] if losses else None,
        first_loss=losses[0][1] if losses else None,
        final_step=losses[-1][0] if losses else None,
        sigma_min=over_groups('sigma_min', min),
        sigma_median=over_groups('sigma_median', statistics.median),
        sigma_min_first=min(stats['sigma_min'][0][1]
                            for stats in groups.values()),
        near_eps_frac=near,
        near_eps_frac_max=over_groups('near_eps_frac', max),
        eff_lr_max=over_groups('eff_lr_median', max),
        eff_lr_median=over_groups('eff_lr_median', statistics.median),
        max_task_grad_norm=max(task) if task else None,
        max_total_grad_norm=max((v for _, v in grad_norms if _finite(v)),
                                default=None),
        nonfinite=nonfinite,
        scalars=path,
        series=groups,
        loss_series=losses,
    )


# ---------------------------------------------------------------- grid
def eps_near(out_dir, results, given):
    """ε near the σ the runs reach: from ``DIR/eps_near.json``, else from
    the first finished ``lam1e-2_eps0`` run (written to that file)."""
    path = osp.join(out_dir, 'eps_near.json')
    if osp.isfile(path):
        with open(path) as f:
            return json.load(f)['eps']
    if given is not None:
        value, source = given, '--eps-near'
    else:
        for (data, arm, seed), r in results.items():
            if arm == 'lam1e-2_eps0' and r is not None:
                value = float(f"{r['sigma_min']:.0e}")
                source = (f'rounded final minimum σ of {data}/{arm}/seed'
                          f"{seed} ({r['sigma_min']:.4g})")
                break
        else:
            return None
    with open(path, 'w') as f:
        json.dump(dict(eps=value, source=source), f, indent=1)
    return value


def plan(args):
    datasets = [QUICK_DATA] if args.quick else list(DATASETS.items())
    seeds = range(args.seeds)
    runs = []
    # the run ε_near is read from goes first
    first_data = datasets[0][0]
    if not args.quick:
        runs.append((first_data, 'lam1e-2_eps0', 0))
    for seed in seeds:
        for data, _ in datasets:
            if data != first_data and seed >= args.seeds_second:
                continue
            for arm, _, _ in arms_of(args.quick):
                if (data, arm, seed) not in runs:
                    runs.append((data, arm, seed))
    return datasets, runs


def run_dir(out_dir, data, arm, seed):
    return osp.join(out_dir, 'runs', data, arm, f'seed{seed}')


def load_results(out_dir, runs):
    results = OrderedDict()
    for key in runs:
        path = osp.join(run_dir(out_dir, *key), 'result.json')
        if osp.isfile(path):
            with open(path) as f:
                result = json.load(f)
            result['sigma_min_ratio'] = result['sigma_min'] / \
                result['sigma_min_first']
            results[key] = result
        else:
            results[key] = None
    return results


def run_grid(args, datasets, runs):
    python, repo = args.python, ROOT
    threads = max(1, args.threads)
    env = subprocess_env(repo, threads)
    package = check_package(python, repo, env)
    meta = dict(commit=git_commit(repo), package=package, python=python,
                iters=args.iters, batch=args.batch, lr=LR, warmup=WARMUP,
                interval=args.interval, seeds=args.seeds,
                seeds_second=args.seeds_second, threads=threads, jobs=args.jobs)
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'grid.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    print(f'eps_study: package {package}, commit {meta["commit"]}',
          flush=True)
    roots = {name: generate(python, repo, env, args.out, name, spec[0],
                            args.quick)
             for name, spec in datasets}
    specs = dict(datasets)
    arm_spec = {name: (lam, eps) for name, lam, eps in arms_of(args.quick)}
    results = load_results(args.out, runs)

    def one(i, key):
        data, arm, seed = key
        lam, eps = arm_spec[arm]
        if eps == NEAR:
            eps = eps_near(args.out, results, args.eps_near)
            if eps is None:
                print('eps_study: no lam1e-2_eps0 run finished to read '
                      f'ε_near from (or give --eps-near): {key} skipped',
                      flush=True)
                return
        _, scale, classes = specs[data]
        work_dir = run_dir(args.out, *key)
        opts = run_options(roots[data], scale, classes, eps, seed,
                           args.iters, args.batch, args.interval)
        print(f'eps_study: [{i + 1}/{len(runs)}] {data}/{arm}/seed{seed} '
              f'(λ={lam:g}, ε={eps:g}) ...', flush=True)
        rc, wall, cpu = train_one(python, repo, env, work_dir,
                                  study_config(args.out, lam), opts)
        summary = read_run(work_dir) if rc == 0 else None
        if summary is None:
            print(f'eps_study: {data}/{arm}/seed{seed} FAILED (exit {rc}); '
                  f'see {work_dir}/train.log', flush=True)
            return
        summary.update(data=data, arm=arm, seed=seed, lam=lam, eps=eps,
                       wall_s=wall, cpu_s=cpu)
        with open(osp.join(work_dir, 'result.json'), 'w') as f:
            json.dump(summary, f, indent=1)
        results[key] = summary
        print(f"eps_study:   {data}/{arm}/seed{seed}: bbox "
              f"{summary['bbox_mAP']:.3f} segm {summary['segm_mAP']:.3f} "
              f"σ_min {summary['sigma_min']:.4g}, {wall:.0f} s wall, "
              f'{cpu:.0f} s CPU', flush=True)
        if arm == 'lam1e-2_eps0' and not args.quick:
            eps_near(args.out, results, args.eps_near)

    todo = [(i, k) for i, k in enumerate(runs) if results[k] is None]
    # the first run (ε_near is read from it) alone, then args.jobs at once
    if todo and not args.quick:
        one(*todo.pop(0))
    if args.jobs == 1:
        for i, key in todo:
            one(i, key)
    else:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(args.jobs) as pool:
            for future in [pool.submit(one, i, k) for i, k in todo]:
                future.result()
    return results


# ---------------------------------------------------------------- report
COLUMNS = [
    ('bbox_mAP', 'bbox mAP', '{:.3f}'),
    ('segm_mAP', 'segm mAP', '{:.3f}'),
    ('final_loss', 'final loss', '{:.3f}'),
    ('sigma_min', 'σ_min', '{:.4f}'),
    ('sigma_min_ratio', 'σ_min end / first', '{:.3f}'),
    ('sigma_median', 'σ_median', '{:.4f}'),
    ('near_eps_frac', 'near-ε frac', '{:.3f}'),
    ('eff_lr_max', 'eff. lr (max group)', '{:.1f}'),
    ('max_task_grad_norm', 'max ‖∂L/∂w‖ (WS)', '{:.3g}'),
    ('nonfinite', 'non-finite', '{:d}'),
]


def _fmt(fmt, v):
    if v is None:
        return 'n/a'
    if fmt == '{:d}':
        return str(int(v))
    return fmt.format(v)


def cell(values, fmt):
    values = [v for v in values if v is not None]
    if not values:
        return 'n/a'
    if fmt == '{:d}':
        return str(int(sum(values)))
    if len(values) == 1:
        return _fmt(fmt, values[0])
    return f'{_fmt(fmt, statistics.mean(values))} ± ' \
        f'{_fmt(fmt, statistics.stdev(values))}'


def build_report(args, datasets, runs, results, plot_root):
    meta_path = osp.join(args.out, 'grid.json')
    meta = json.load(open(meta_path)) if osp.isfile(meta_path) else {}
    near_path = osp.join(args.out, 'eps_near.json')
    near = json.load(open(near_path)) if osp.isfile(near_path) else None
    arms = arms_of(args.quick)
    done = [k for k in runs if results.get(k) is not None]
    lines = [BEGIN, '',
             '## Part 2: results (generated by `experiments/eps_study.py`)',
             '']
    iters, batch = meta.get('iters', args.iters), meta.get('batch',
                                                           args.batch)
    lines += [
        f"Grid run at commit `{meta.get('commit', 'unknown')}`; "
        f"{iters} iterations of batch {batch}, SGD lr {LR} (linear warm-up "
        f'over {WARMUP} iterations, then constant), momentum {MOMENTUM}; '
        f'WeightStatsHook every {meta.get("interval", args.interval)} '
        f'iterations. {len(done)} of {len(runs)} planned runs finished.',
        '']
    if near:
        lines += [f"ε_near = {near['eps']:g} ({near['source']}).", '']
    sum_lr = LR * (sum(0.01 + 0.99 * i / WARMUP for i in range(WARMUP)) +
                   iters - WARMUP)
    lines += [
        f'Σ_t η_t = {sum_lr:.2f}, so D = λ·Σ η = {1e-4 * sum_lr:.1e} '
        f'(λ = 1e-4) and {1e-2 * sum_lr:.2f} (λ = 1e-2); with momentum, '
        f'D_m = D/(1 − m) = {1e-4 * sum_lr * 10:.1e} and '
        f'{1e-2 * sum_lr * 10:.2f}.', '',
        'Columns: mean ± std over seeds (sample std); the seeds\' own values '
        'in the second table. σ_min: the smallest filter std of any WS '
        'layer group at the last logged iteration; σ_min end / first: '
        'σ_min at the last over σ_min at the first logged iteration; '
        'σ_median: the median '
        'over layer groups of the groups\' median σ; near-ε frac: the mean '
        'over layer groups of the fraction of filters with |σ − ε| ≤ 0.1 ε '
        '(n/a for ε = 0: the hook logs it only for ε > 0); eff. lr: the '
        'largest group median of lr/σ² at the end; max ‖∂L/∂w‖ (WS): the '
        'largest L2 norm of a layer group\'s loss gradient at the logged '
        'iterations (after clipping, fp32, no loss scale), an upper bound '
        'of the largest |∂L/∂w| of any WS weight there '
        f'(fp16 max {FP16_MAX:g}); non-finite: NaN/inf values among the '
        'logged losses and gradient norms, summed over seeds.', '']
    for data, _ in datasets:
        lines += [f'### Data set `{data}`', '',
                  '| arm | λ | ε | seeds | ' +
                  ' | '.join(c[1] for c in COLUMNS) + ' |',
                  '|---|---|---|---|' + '---|' * len(COLUMNS)]
        for arm, lam, eps in arms:
            rs = [results[k] for k in runs
                  if k[0] == data and k[1] == arm and results.get(k)]
            eps_v = (near['eps'] if near else None) if eps == NEAR else eps
            eps_s = 'n/a' if lam == 0 else (
                f'{eps_v:g}' if eps_v is not None else 'ε_near (not set)')
            planned = sum(1 for k in runs if k[0] == data and k[1] == arm)
            row = [arm, f'{lam:g}', eps_s, f'{len(rs)}/{planned}']
            row += [cell([r.get(c) for r in rs], fmt)
                    for c, _, fmt in COLUMNS]
            lines.append('| ' + ' | '.join(row) + ' |')
        lines.append('')
    lines += compare_lines(datasets, runs, results, arms,
                           meta.get('seeds', args.seeds))
    lines += ['### Every run', '',
              '| data | arm | seed | status | ' +
              ' | '.join(c[1] for c in COLUMNS) +
              ' | max total grad_norm | wall s | CPU s |',
              '|---|---|---|---|' + '---|' * (len(COLUMNS) + 3)]
    for key in runs:
        r = results.get(key)
        data, arm, seed = key
        if r is None:
            failed = osp.isfile(osp.join(run_dir(args.out, *key),
                                         'train.log'))
            status = 'failed or unfinished' if failed else 'not run'
            lines.append(f'| {data} | {arm} | {seed} | {status} |' +
                         ' |' * (len(COLUMNS) + 3))
            continue
        row = [data, arm, str(seed), 'done']
        row += [_fmt(fmt, r.get(c)) for c, _, fmt in COLUMNS]
        row += [_fmt('{:.3g}', r.get('max_total_grad_norm')),
                f"{r['wall_s']:.0f}", f"{r['cpu_s']:.0f}"]
        lines.append('| ' + ' | '.join(row) + ' |')
    walls = [results[k]['wall_s'] for k in done]
    cpus = [results[k]['cpu_s'] for k in done]
    if done:
        lines += ['', f'Total: {sum(walls) / 60:.1f} min wall, '
                  f'{sum(cpus) / 60:.1f} min CPU (all cores) for the '
                  f'{len(done)} finished runs.']
    lines += ['', '### Plots', '',
              'σ (median, band min–max) and effective lr per layer group, '
              'every seed of one arm per figure '
              '(`tools/analysis/plot_weight_stats.py`), and per data set a '
              'comparison of the arms on seed 0:', '']
    for rel in sorted(plot_index(plot_root, osp.dirname(args.report))):
        lines.append(f'* `{rel}`')
    lines += ['', END]
    return '\n'.join(lines)


PAIRS = [
    ('claim 1: decay vs none', 'lam0', 'lam1e-4_eps0'),
    ('claim 1: strong decay vs none', 'lam0', 'lam1e-2_eps0'),
    ('claim 2: strong vs weak plain decay', 'lam1e-4_eps0', 'lam1e-2_eps0'),
    ('claim 3: ε = 1e-3 vs plain (λ = 1e-4)', 'lam1e-4_eps0',
     'lam1e-4_eps1e-3'),
    ('claim 3: ε_near vs plain (λ = 1e-4)', 'lam1e-4_eps0',
     'lam1e-4_epsnear'),
    ('claim 3: ε = 1e-3 vs plain (λ = 1e-2)', 'lam1e-2_eps0',
     'lam1e-2_eps1e-3'),
    ('claim 3: ε_near vs plain (λ = 1e-2)', 'lam1e-2_eps0',
     'lam1e-2_epsnear'),
    ('quick: ε = 5e-2 vs plain (λ = 1e-2)', 'lam1e-2_eps0',
     'lam1e-2_eps5e-2'),
]
COMPARED = [('bbox_mAP', 'bbox mAP', '{:+.3f}'),
            ('segm_mAP', 'segm mAP', '{:+.3f}'),
            ('sigma_min', 'σ_min', '{:+.4f}'),
            ('eff_lr_max', 'eff. lr', '{:+.1f}'),
            ('final_loss', 'final loss', '{:+.3f}')]


def delta_and_spread(a, b):
    """``Δ = mean(b) − mean(a)`` and the seed spread, the larger sample std
    of the two arms: a difference counts only when ``|Δ| > spread``."""
    return (statistics.mean(b) - statistics.mean(a),
            max(statistics.stdev(a), statistics.stdev(b)))


def verdict(a, b, fmt):
    """Δ and whether it exceeds the seed spread (:func:`delta_and_spread`);
    fewer than 2 seeds: undecided."""
    a = [v for v in a if v is not None]
    b = [v for v in b if v is not None]
    if not a or not b:
        return 'n/a'
    if len(a) < 2 or len(b) < 2:
        delta = statistics.mean(b) - statistics.mean(a)
        return f'{fmt.format(delta)} (spread unknown: 1 seed)'
    delta, spread = delta_and_spread(a, b)
    word = 'difference' if abs(delta) > spread else 'no difference'
    return f'{fmt.format(delta)} vs spread {fmt.format(spread)[1:]}: {word}'


def null_difference_rate(seeds: int, trials: int = 100_000) -> float:
    """How often :func:`verdict` says "difference" for two arms without
    any: ``seeds`` normal draws each, ``trials`` pairs (fixed seed)."""
    import random
    rng = random.Random(0)
    hits = 0
    for _ in range(trials):
        a = [rng.gauss(0, 1) for _ in range(seeds)]
        b = [rng.gauss(0, 1) for _ in range(seeds)]
        delta, spread = delta_and_spread(a, b)
        hits += abs(delta) > spread
    return hits / trials


def compare_lines(datasets, runs, results, arms, seeds):
    names = {a[0] for a in arms}
    lines = ['Comparisons (Δ = second arm − first arm, means over seeds; '
             'a difference not larger than the spread over seeds, the larger '
             "sample std of the two arms, counts as no difference):", '']
    if seeds >= 2:
        lines += [f'With {seeds} seeds per arm this rule calls '
                  f'{null_difference_rate(seeds):.0%} of comparisons '
                  'between two arms without any true difference a '
                  '"difference" (simulated: normal noise, 100 000 pairs, '
                  '`null_difference_rate` of the script).', '']
    for data, _ in datasets:
        lines += [f'#### `{data}`', '',
                  '| comparison | ' + ' | '.join(c[1] for c in COMPARED) +
                  ' |', '|---|' + '---|' * len(COMPARED)]
        for title, first, second in PAIRS:
            if first not in names or second not in names:
                continue

            def values(arm, col):
                return [results[k].get(col) for k in runs
                        if k[0] == data and k[1] == arm and results.get(k)]
            row = [f'{title} (`{first}` → `{second}`)']
            row += [verdict(values(first, c), values(second, c), fmt)
                    for c, _, fmt in COMPARED]
            lines.append('| ' + ' | '.join(row) + ' |')
        lines.append('')
    return lines


def plot_index(plot_root, base):
    if not osp.isdir(plot_root):
        return []
    return [osp.relpath(p, base)
            for p in glob.glob(osp.join(plot_root, '**', '*.png'),
                               recursive=True)]


def make_plots(args, datasets, runs, results, plot_root):
    env = subprocess_env(ROOT, max(1, args.threads))
    tool = osp.join(ROOT, 'tools', 'analysis', 'plot_weight_stats.py')
    near_path = osp.join(args.out, 'eps_near.json')
    near = json.load(open(near_path))['eps'] if osp.isfile(
        near_path) else None
    figures = []
    for data, _ in datasets:
        for arm, lam, eps in arms_of(args.quick):
            keys = [k for k in runs if k[0] == data and k[1] == arm
                    and results.get(k)]
            if keys:
                eps_v = near if eps == NEAR else eps
                figures.append((osp.join(plot_root, data, arm),
                                keys, [f'seed{k[2]}' for k in keys],
                                eps_v if lam and eps_v else None))
        for lam_name in (['lam1e-2'] if args.quick else
                         ['lam1e-4', 'lam1e-2']):
            keys = [k for k in runs if k[0] == data and k[2] == 0 and
                    (k[1].startswith(lam_name) or k[1] == 'lam0')
                    and results.get(k)]
            if len(keys) > 1:
                figures.append((osp.join(plot_root, data,
                                         f'compare_{lam_name}_seed0'),
                                keys, [k[1] for k in keys], near))
    for out_dir, keys, labels, eps in figures:
        cmd = [args.python, tool, *[run_dir(args.out, *k) for k in keys],
               '--labels', *labels, '--out-dir', out_dir]
        if eps:
            cmd += ['--eps', repr(eps)]
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                             text=True)
        if out.returncode != 0:
            print(f'eps_study: plot {out_dir} failed: {out.stderr[-500:]}',
                  flush=True)


def write_report(path, text):
    old = open(path).read() if osp.isfile(path) else ''
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        new = head + text + tail
    else:
        new = (old.rstrip('\n') + '\n\n' if old else '') + text + '\n'
    with open(path, 'w') as f:
        f.write(new)


def write_tables(args, runs, results, plot_root):
    os.makedirs(plot_root, exist_ok=True)
    with open(osp.join(plot_root, 'runs.json'), 'w') as f:
        rows = []
        for k in runs:
            row = OrderedDict(data=k[0], arm=k[1], seed=k[2])
            if results.get(k):
                row.update((c, v) for c, v in results[k].items()
                           if c not in ('series', 'loss_series', 'scalars'))
            else:
                row['status'] = 'not finished'
            rows.append(row)
        json.dump(rows, f, indent=1)
    with open(osp.join(plot_root, 'runs.csv'), 'w') as f:
        cols = ['data', 'arm', 'seed', 'lam', 'eps'] + \
            [c for c, _, _ in COLUMNS] + ['max_total_grad_norm', 'wall_s',
                                          'cpu_s']
        f.write(','.join(cols) + '\n')
        for k in runs:
            r = results.get(k) or {}
            vals = [k[0], k[1], str(k[2])] + \
                ['' if r.get(c) is None else repr(r.get(c))
                 for c in cols[3:]]
            f.write(','.join(vals) + '\n')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--out', required=True,
                   help='grid folder: data, runs, eps_near.json')
    p.add_argument('--quick', action='store_true',
                   help='1 seed, 2 arms, 30 iterations (the test)')
    p.add_argument('--report-only', action='store_true',
                   help='train nothing; rebuild the tables and plots')
    p.add_argument('--seeds', type=int, help='seeds per arm (default 3)')
    p.add_argument('--seeds-second', type=int,
                   help='seeds of the second data set (default: --seeds)')
    p.add_argument('--iters', type=int, help='iterations per run')
    p.add_argument('--batch', type=int, help='batch size')
    p.add_argument('--interval', type=int,
                   help='WeightStatsHook and logger interval')
    p.add_argument('--eps-near', type=float,
                   help='ε_near instead of reading it from a run')
    p.add_argument('--jobs', type=int,
                   help='runs at a time (default 1; --quick: 2)')
    p.add_argument('--threads', type=int,
                   help='torch threads of each run (default: 2 // jobs)')
    p.add_argument('--python', default=sys.executable)
    p.add_argument('--report', help='report file (default: '
                   'experiments/results/EPS_STUDY.md; --quick: DIR/'
                   'EPS_STUDY.md)')
    p.add_argument('--plots-dir', help='figures and tables (default: '
                   'experiments/results/eps_study; --quick: DIR/plots)')
    args = p.parse_args(argv)
    quick = dict(seeds=1, iters=30, batch=2, interval=5, jobs=2)
    full = dict(seeds=3, iters=150, batch=4, interval=10, jobs=1)
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.threads is None:
        args.threads = max(1, 2 // args.jobs)
    if args.seeds_second is None:
        args.seeds_second = args.seeds
    if args.iters % args.interval:
        p.error('--iters must be a multiple of --interval (the last '
                'iteration is then logged)')
    args.out = osp.abspath(args.out)
    if args.report is None:
        args.report = (osp.join(args.out, 'EPS_STUDY.md') if args.quick
                       else REPORT)
    if args.plots_dir is None:
        args.plots_dir = (osp.join(args.out, 'plots') if args.quick
                          else PLOTS)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    datasets, runs = plan(args)
    grid = osp.join(args.out, 'grid.json')
    if args.report_only:
        if osp.isfile(grid):  # the grid's own settings
            meta = json.load(open(grid))
            args.iters, args.batch = meta['iters'], meta['batch']
            args.seeds = meta['seeds']
            args.seeds_second = meta.get('seeds_second', args.seeds)
            datasets, runs = plan(args)
        results = load_results(args.out, runs)
    else:
        results = run_grid(args, datasets, runs)
    make_plots(args, datasets, runs, results, args.plots_dir)
    write_tables(args, runs, results, args.plots_dir)
    write_report(args.report, build_report(args, datasets, runs, results,
                                           args.plots_dir))
    done = sum(1 for r in results.values() if r is not None)
    print(f'eps_study: {done}/{len(runs)} runs finished; report '
          f'{args.report}, plots {args.plots_dir}', flush=True)
    return 0 if done == len(runs) else 1


if __name__ == '__main__':
    sys.exit(main())
