"""``RNGStateHook``: resumed runs continue with the same random numbers."""
import logging

import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save torch's RNG state in checkpoints; restore it on ``--resume`` of
    a single-process run.

    mmengine 0.10 re-seeds at start-up and, when resuming an iteration-based
    run, replays the data loader up to the checkpoint (so the data order and
    the numpy draws of the data pipeline repeat exactly), but torch's global
    generator, used by the detector itself (proposal and RoI samplers,
    dropout ...), restarts from the seed.  This hook stores
    ``torch.get_rng_state()`` (and every CUDA device's state) in each
    checkpoint and puts it back before training resumes, so an interrupted
    and resumed single-process run draws the same numbers as an
    uninterrupted one.

    mmengine writes checkpoints on rank 0 only, so a checkpoint holds rank
    0's state alone.  Restoring it on every rank would make all ranks draw
    the same numbers; a resumed run of several processes therefore keeps
    the seeded generators (a warning says so): it is valid, but not
    identical to an uninterrupted run.  A checkpoint loaded with
    ``load_from`` (no resume) is left alone.

    It also stores the world size; a resume with another one is logged as
    a warning, since the global batch changed while the lr and the
    schedule did not.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._loaded = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = dict(cpu=torch.get_rng_state())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state['cuda'] = torch.cuda.get_rng_state_all()
        state['world_size'] = get_world_size()
        checkpoint['torch_rng_state'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded = checkpoint.get('torch_rng_state')

    def before_train(self, runner) -> None:
        loaded, self._loaded = self._loaded, None
        if loaded is None or runner.iter == 0:
            return  # not a resume (or a checkpoint without the state)
        saved_world = loaded.get('world_size')
        if saved_world is not None and saved_world != get_world_size():
            print_log(
                f'RNGStateHook: resuming with {get_world_size()} process(es) '
                f'a run saved with {saved_world}: the global batch changed '
                f'by a factor {get_world_size() / saved_world:g}, the lr and '
                'the schedule did not', logger='current',
                level=logging.WARNING)
        if get_world_size() > 1:
            print_log(
                "RNGStateHook: the checkpoint holds rank 0's RNG state only; "
                f'with {get_world_size()} processes torch keeps its seeded '
                'generators, so the resumed run is valid but not identical '
                'to an uninterrupted one', logger='current',
                level=logging.WARNING)
            return
        torch.set_rng_state(loaded['cpu'])
        cuda = loaded.get('cuda')
        if cuda is not None and torch.cuda.is_available() and \
                len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
