"""Plot what WeightStatsHook logged: filter std σ and effective lr.

    python tools/analysis/plot_weight_stats.py WORK_DIR [WORK_DIR ...]
        [--labels plain eps-l2] [--eps 1e-3] [--out-dir plots]

Reads every run of each work dir (``<work_dir>/<timestamp>/vis_data/
scalars.json``, oldest first, so a resumed run continues the curves of the
run it resumed; where runs overlap, the later one's values count) and
writes

* ``sigma.png``: per layer group, the median filter std σ over iterations
  (band: min to max over the group's filters), runs overlaid;
* ``eff_lr.png``: per layer group, the median effective learning rate
  lr / σ² over iterations, runs overlaid.

Several work dirs (e.g. plain weight decay vs the ε-shifted regularizer)
share the axes; ``--eps`` draws ε as a dashed line on the σ plots.
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import sys
from collections import OrderedDict, defaultdict

PREFIX = 'ws/'


def find_scalars(work_dir: str) -> list:
    """Every run's ``scalars.json`` in ``work_dir``, oldest first (mmengine
    names run folders by their start time, ``YYYYmmdd_HHMMSS``)."""
    if not osp.isdir(work_dir):
        raise FileNotFoundError(f'work dir not found: {work_dir}')
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'{work_dir} holds no */vis_data/scalars.json: train with '
            'LocalVisBackend (mmdet default) to get scalar logs')
    return files


def load_weight_stats(work_dir: str, report=print):
    """``{group: {stat: [(step, value), ...]}}`` of every run in
    ``work_dir``, by step; a step logged by several runs (a resume from an
    earlier checkpoint) keeps the value of the latest run.  ``report`` gets
    one line per run read or skipped."""
    by_step = defaultdict(lambda: defaultdict(dict))
    for path in find_scalars(work_dir):
        steps = set()
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                step = record.get('step')
                for key, value in record.items():
                    if key.startswith(PREFIX) and step is not None:
                        group, stat = key[len(PREFIX):].rsplit('/', 1)
                        by_step[group][stat][step] = value
                        steps.add(step)
        run = osp.basename(osp.dirname(osp.dirname(path)))
        if steps:
            report(f'{work_dir}: run {run}: {len(steps)} logged iterations '
                   f'({min(steps)}-{max(steps)})')
        else:
            report(f'{work_dir}: run {run}: skipped, no {PREFIX}* scalars')
    if not by_step:
        raise ValueError(
            f'{work_dir} holds no {PREFIX}* scalars in any run: add '
            "dict(type='WeightStatsHook') to custom_hooks")
    return {
        group: {stat: sorted(values.items())
                for stat, values in stats.items()}
        for group, stats in by_step.items()
    }


def plot(runs: 'OrderedDict[str, dict]', out_dir: str, eps=None):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    groups = []
    for series in runs.values():
        groups += [g for g in series if g not in groups]
    cols = min(4, len(groups))
    rows = math.ceil(len(groups) / cols)
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name, stat, ylabel, title in (
        ('sigma.png', 'sigma_median', 'filter std σ (unbiased)',
         'Filter std σ per layer group (line: median, band: min-max)'),
        ('eff_lr.png', 'eff_lr_median', 'effective lr  lr / σ²',
         'Effective learning rate per layer group (median over filters)'),
    ):
        fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows),
                                 squeeze=False, sharex=True)
        for ax, group in zip(axes.flat, groups):
            for i, (label, series) in enumerate(runs.items()):
                if group not in series or stat not in series[group]:
                    continue
                steps, values = zip(*series[group][stat])
                color = colors[i % len(colors)]
                ax.plot(steps, values, color=color, label=label)
                if stat == 'sigma_median':
                    lo = [v for _, v in series[group]['sigma_min']]
                    hi = [v for _, v in series[group]['sigma_max']]
                    ax.fill_between(steps, lo, hi, color=color, alpha=0.2)
            if stat == 'sigma_median' and eps:
                ax.axhline(eps, color='k', ls='--', lw=1, label=f'ε = {eps:g}')
            ax.set_yscale('log')
            ax.set_title(group, fontsize=10)
            ax.set_ylabel(ylabel, fontsize=8)
            ax.grid(True, which='both', alpha=0.3)
        for ax in axes.flat[len(groups):]:
            ax.axis('off')
        for ax in axes[-1]:
            ax.set_xlabel('iteration')
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc='upper right', fontsize=9)
        fig.suptitle(title)
        fig.tight_layout(rect=(0, 0, 0.9, 0.95))
        path = osp.join(out_dir, name)
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--labels', nargs='+', help='one per work dir')
    parser.add_argument('--eps', type=float, help='draw ε on the σ plots')
    parser.add_argument('--out-dir', default='weight_stats_plots')
    args = parser.parse_args(argv)
    labels = args.labels or [osp.basename(osp.normpath(d))
                             for d in args.work_dirs]
    if len(labels) != len(args.work_dirs):
        sys.exit('plot_weight_stats: give one --labels entry per work dir')
    runs = OrderedDict()
    try:
        for label, work_dir in zip(labels, args.work_dirs):
            runs[label] = load_weight_stats(work_dir)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f'plot_weight_stats: {e}')
    for path in plot(runs, args.out_dir, args.eps):
        print(path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
