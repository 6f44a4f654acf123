"""Distributed training on CPU with gloo: the stock tools, and DDP's
gradient averaging with the ε-shifted regularizer."""
import os
import os.path as osp
import socket
import subprocess

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

from helpers.toy import (ROOT, TOOLS, TOY_MASK_RCNN, env_with_repo,
                         short_run_options)

#: end to end (training, fresh interpreters, full-size detectors)
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.parametrize('runner', ['Runner', 'FlexibleRunner',
                                    'FlexibleRunner-default'])
def test_dist_train_sh_two_cpu_processes_end_identical(in_toy_root, runner):
    """mmengine's Runner, and its FlexibleRunner with DDPStrategy, named or
    (its default for a distributed run) not."""
    config = in_toy_root / f'toy_dump_{runner}.py'
    flexible = "runner_type = 'FlexibleRunner'\n" + (
        "strategy = dict(type='DDPStrategy')\n"
        if runner == 'FlexibleRunner' else '')
    config.write_text(
        f"_base_ = '{TOY_MASK_RCNN}'\n"
        "custom_imports = dict(imports=['mmdet_eps_l2', "
        "'helpers.dump_hook'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='WeightStatsHook', interval=1), "
        "dict(type='RNGStateHook'), dict(type='RankParamsDumpHook')]\n" +
        (flexible if runner.startswith('FlexibleRunner') else ''))
    work_dir = in_toy_root / f'wd_dist_{runner}'
    env = env_with_repo()
    env['PYTHONPATH'] = osp.join(ROOT, 'tests') + os.pathsep + \
        env['PYTHONPATH']
    env['PORT'] = str(free_port())
    env['PYTHON'] = os.sys.executable
    proc = subprocess.run(
        ['bash', osp.join(TOOLS, 'dist_train.sh'), str(config), '2',
         '--work-dir', str(work_dir), '--cfg-options'] +
        short_run_options(2, batch=1, val=False),
        cwd=in_toy_root, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:]
    # the check ran once, on rank 0, before the Runner: each annotation
    # file parsed once for it
    assert proc.stdout.count(
        'checked the config, the model and the data of train') == 1
    # mmengine's runtime environment: a distributed run of two processes
    assert 'Distributed training: True' in proc.stdout
    assert 'GPU number: 2' in proc.stdout  # mmengine's name for world size
    rank0 = torch.load(work_dir / 'rank0_params.pth', weights_only=True)
    rank1 = torch.load(work_dir / 'rank1_params.pth', weights_only=True)
    saved = torch.load(work_dir / 'iter_2.pth',
                       weights_only=True)['state_dict']
    # FlexibleRunner's DDPStrategy saves the wrapper's keys ('module.'),
    # which mmengine's load_checkpoint strips
    saved = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in saved.items()}
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
        assert torch.equal(rank0[key], saved[key]), key


def test_dist_train_sh_refusal_stops_both_ranks_before_a_work_dir(
        in_toy_root):
    work_dir = in_toy_root / 'wd_dist_refused'
    env = env_with_repo()
    env['PORT'] = str(free_port())
    env['PYTHON'] = os.sys.executable
    proc = subprocess.run(
        ['bash', osp.join(TOOLS, 'dist_train.sh'), TOY_MASK_RCNN, '2',
         '--work-dir', str(work_dir), '--cfg-options',
         'model.roi_head.bbox_head.num_classes=5'],
        cwd=in_toy_root, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=600)
    # every rank leaves the process group and exits 1: no abort, no
    # signal from torchrun to a rank still running
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert proc.stdout.count('model.roi_head.bbox_head.num_classes is 5 but '
                             'train_dataloader.dataset has 3 classes') == 1
    for sign in ('Traceback', 'terminate called', 'exitcode: -', 'SIGTERM',
                 'Signal'):
        assert sign not in proc.stdout, proc.stdout[-3000:]
    assert 'failed (exitcode: 1)' in proc.stdout
    assert not work_dir.exists()


# ------------------------------------------ DDP 2 × 1 == 1 × 2 samples
def _tiny_model():
    from mmdet_eps_l2.models import WSConv2d
    torch.manual_seed(0)
    return nn.Sequential(
        WSConv2d(3, 8, 3, padding=1, bias=False), nn.GroupNorm(4, 8),
        nn.ReLU(), WSConv2d(8, 8, 3, padding=1, bias=False),
        nn.GroupNorm(4, 8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(8, 3)).double()


def _batches(steps):
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(2, 3, 8, 8, generator=g, dtype=torch.float64),
             torch.randint(0, 3, (2, ), generator=g)) for _ in range(steps)]


def _wrapper(model):
    from mmdet_eps_l2.optim import EpsShiftedL2OptimWrapperConstructor
    return EpsShiftedL2OptimWrapperConstructor(
        dict(type='OptimWrapper', optimizer=dict(
            type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-2)),
        dict(eps_l2=dict(eps=1e-2)))(model)


def _ddp_worker(rank, world_size, init_file, out_file, steps):
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=world_size)
    model = nn.parallel.DistributedDataParallel(_tiny_model())
    wrapper = _wrapper(model)
    for x, y in _batches(steps):
        loss = nn.functional.cross_entropy(model(x[rank:rank + 1]),
                                           y[rank:rank + 1])
        wrapper.update_params(loss)
    torch.save(model.module.state_dict(), f'{out_file}.{rank}')
    dist.destroy_process_group()


def test_ddp_two_ranks_one_sample_equals_one_process_two_samples(tmp_path):
    steps = 5
    out = str(tmp_path / 'ddp')
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / 'init'), out, steps),
             nprocs=2, join=True)
    single = _tiny_model()
    wrapper = _wrapper(single)
    for x, y in _batches(steps):
        wrapper.update_params(nn.functional.cross_entropy(single(x), y))
    ranks = [torch.load(f'{out}.{r}', weights_only=True) for r in (0, 1)]
    for key, value in single.state_dict().items():
        assert torch.equal(ranks[0][key], ranks[1][key]), key
        assert torch.allclose(ranks[0][key], value, rtol=1e-10,
                              atol=1e-12), key
