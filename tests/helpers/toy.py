"""Shared pieces of the end-to-end tests."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(ROOT, 'tools')
TOY_MASK_RCNN = osp.join(
    ROOT, 'configs', 'toy',
    'mask-rcnn_r18-c32_fpn-c64_gn-ws-all_eps-l2_toy-shapes.py')
TOY_RETINANET = osp.join(
    ROOT, 'configs', 'toy',
    'retinanet_r18-c32_fpn-c64_gn-ws-all_eps-l2_toy-shapes.py')


def short_run_options(iters: int, batch: int = 2, val: bool = True,
                      checkpoint_interval: int = None):
    """--cfg-options for a few iterations of the toy configs."""
    opts = [
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters if val else iters + 1}',
        f'train_dataloader.batch_size={batch}',
        f'default_hooks.checkpoint.interval={checkpoint_interval or iters}',
        'default_hooks.logger.interval=1',
        'param_scheduler.0.end=2',
        'custom_hooks.0.interval=1',
    ]
    return opts


def env_with_repo():
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    return env


def run_tool(args, cwd, timeout=600):
    """Run a Python tool in a fresh interpreter; return the finished
    process (stdout and stderr together in .stdout)."""
    return subprocess.run([sys.executable] + list(args), cwd=cwd,
                          env=env_with_repo(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)


def scalars(work_dir: str):
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    assert files, f'no scalars.json under {work_dir}'
    with open(files[-1]) as f:
        return [json.loads(line) for line in f]
