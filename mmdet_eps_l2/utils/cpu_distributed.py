"""Distributed training on CPU (gloo) with mmengine's stock Runner.

mmengine 0.10's ``init_dist('pytorch')`` always calls
``torch.cuda.set_device`` and ``Runner.wrap_model`` passes
``device_ids=[LOCAL_RANK]`` to DDP (so does ``FlexibleRunner``'s
``DDPStrategy``); both fail without a GPU.  On a machine
without CUDA, :func:`prepare_cpu_distributed` initialises the gloo process
group from torchrun's environment before the Runner is built (the Runner
then skips its own ``init_dist``) and makes DDP wrap the model with
``device_ids=None``.  On GPUs nothing changes: nccl and the stock path.
"""
import os

import torch
import torch.distributed as dist


#: environment variables each launcher's ``init_dist`` reads
LAUNCHER_ENV = {
    'pytorch': ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'),
    'slurm': ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'),
    'mpi': ('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_LOCAL_RANK'),
}
LAUNCHER_HINT = {
    'pytorch': 'start with torchrun or tools/dist_train.sh',
    'slurm': 'start with srun or tools/slurm_train.sh',
    'mpi': 'start with mpirun',
}


def check_launcher(launcher: str) -> None:
    """Raise ``RuntimeError`` naming what is missing when ``launcher`` was
    not started by its launcher (before any process group or work dir)."""
    if launcher == 'none':
        return
    if launcher not in LAUNCHER_ENV:
        raise RuntimeError(f"unknown launcher '{launcher}'")
    missing = [k for k in LAUNCHER_ENV[launcher] if k not in os.environ]
    if missing:
        raise RuntimeError(
            f'--launcher {launcher}: environment variables {missing} are '
            f'not set; {LAUNCHER_HINT[launcher]}, or train without '
            '--launcher')
    if launcher != 'pytorch' and not torch.cuda.is_available():
        raise RuntimeError(
            f"--launcher {launcher} needs GPUs; on CPU use torchrun / "
            "tools/dist_train.sh (--launcher pytorch, gloo backend)")


def init_distributed(cfg, launcher: str) -> None:
    """Check the launcher's environment (:func:`check_launcher`) and start
    the process group before the Runner (which then skips its own
    ``init_dist``), so the tools can check the config once on rank 0: with
    CUDA mmengine's ``init_dist`` and the config's ``env_cfg.dist_cfg``;
    without, gloo (:func:`prepare_cpu_distributed`)."""
    check_launcher(launcher)
    if launcher == 'none' or dist.is_initialized():
        return
    if not torch.cuda.is_available():
        prepare_cpu_distributed(cfg)
        return
    from mmengine.dist import init_dist
    init_dist(launcher, **((cfg.get('env_cfg') or {}).get('dist_cfg') or {}))


def prepare_cpu_distributed(cfg) -> None:
    """The gloo process group from torchrun's environment, and DDP without
    ``device_ids`` in ``cfg``: in ``model_wrapper_cfg`` (mmengine's
    ``Runner``) or in ``strategy.model_wrapper`` (``FlexibleRunner``, whose
    strategy of a distributed run is ``DDPStrategy`` unless set)."""
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    runner = cfg.get('runner_type') or 'Runner'
    if getattr(runner, '__name__', runner) == 'FlexibleRunner':
        # its default strategy of a distributed run
        cfg.strategy = dict(cfg.get('strategy') or dict(type='DDPStrategy'))
        if cfg.strategy.get('type') != 'DDPStrategy':
            return  # not a DDP wrapper (the check refuses sharding ones)
        owner, key = cfg.strategy, 'model_wrapper'
    else:
        owner, key = cfg, 'model_wrapper_cfg'
    wrapper = dict(owner.get(key) or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    owner[key] = wrapper
    env_cfg = cfg.get('env_cfg') or {}
    env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    cfg.env_cfg = env_cfg
