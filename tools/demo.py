"""The demo: train the toy GN+WS Mask R-CNN with the ε-shifted L2
regularizer on CPU and report COCO bbox / segm mAP.

    python tools/demo.py [--work-dir work_dirs/demo] [--min-bbox-map 0.6]
        [--data-root data/toy_coco] [--cfg-options k=v ...]

1. generates the toy-shapes COCO data set in --data-root (if missing;
   relative paths are taken from the repository root);
2. trains configs/toy/...toy-shapes.py with tools/train.py (400 iterations
   of batch 8);
3. evaluates on the val split with mmdet's CocoMetric (pycocotools) and
   prints ``bbox_mAP: ...`` and ``segm_mAP: ...``.
Exits non-zero when bbox mAP is below ``--min-bbox-map``.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'toy',
                  'mask-rcnn_r18-c32_fpn-c64_gn-ws-all_eps-l2_toy-shapes.py')


class NoMetricsError(RuntimeError):
    """The run wrote no COCO metrics (it never evaluated)."""


def last_metrics(work_dir: str) -> dict:
    """The last COCO metrics record of the newest run in ``work_dir``."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not files:
        raise NoMetricsError(f'no */vis_data/scalars.json under {work_dir}')
    metrics = {}
    with open(files[-1]) as f:
        for line in f:
            record = json.loads(line)
            if 'coco/bbox_mAP' in record:
                metrics = record
    if not metrics:
        raise NoMetricsError(
            f'{files[-1]} holds no COCO metrics: the run ended before its '
            'first evaluation (train_cfg.val_interval larger than '
            'train_cfg.max_iters?)')
    return metrics


def shift_eps(optimizer) -> str:
    """The ε of the run's ε-shifted parameter groups, as text."""
    from mmdet_eps_l2.ops import param_groups as keys
    values = sorted({g[keys.EPS] for g in optimizer.param_groups
                     if keys.is_shifted(g)})
    return ', '.join(f'{v:g}' for v in values) or 'none (no shifted group)'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
    parser.add_argument('--min-bbox-map', type=float, default=0.6)
    parser.add_argument('--data-root', default=osp.join('data', 'toy_coco'),
                        help='where the toy data lies or is generated')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='override settings of the toy config, key=value')
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    from generate_toy_coco import main as generate
    import train

    data_root = osp.abspath(args.data_root)
    if not osp.exists(osp.join(data_root, 'annotations',
                               'instances_val.json')):
        generate([data_root])
    start = time.time()
    runner = train.build_runner([
        CONFIG, '--work-dir', args.work_dir, '--cfg-options',
        f'data_root={data_root}/', *args.cfg_options
    ])
    runner.train()
    minutes = (time.time() - start) / 60
    eps = shift_eps(runner.optim_wrapper.optimizer)
    print('=' * 60)
    print(f'toy GN+WS Mask R-CNN, eps-shifted L2 (eps={eps}), '
          f'{minutes:.1f} min on CPU')
    try:
        metrics = last_metrics(runner.work_dir)
    except NoMetricsError as e:
        print(f'demo: {e}')
        return 1
    print(f"bbox_mAP: {metrics['coco/bbox_mAP']:.3f}")
    print(f"segm_mAP: {metrics['coco/segm_mAP']:.3f}")
    if metrics['coco/bbox_mAP'] < args.min_bbox_map:
        print(f'FAILED: bbox_mAP below {args.min_bbox_map}')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
