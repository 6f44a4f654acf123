"""RNGStateHook restores torch's generator exactly on a single-process
resume and leaves it seeded on several processes (a checkpoint holds rank
0's state only)."""
import logging
from types import SimpleNamespace

import torch

from mmdet_eps_l2.hooks import RNGStateHook


def _saved_state():
    torch.manual_seed(123)
    torch.rand(7)  # the generator moves on
    checkpoint = {}
    RNGStateHook().before_save_checkpoint(None, checkpoint)
    expected = torch.rand(5)  # what an uninterrupted run draws next
    return checkpoint, expected


def test_a_single_process_resume_draws_what_an_uninterrupted_run_draws():
    checkpoint, expected = _saved_state()
    hook = RNGStateHook()
    hook.after_load_checkpoint(None, checkpoint)
    torch.manual_seed(0)  # mmengine re-seeds at start-up
    hook.before_train(SimpleNamespace(iter=8))
    assert torch.equal(torch.rand(5), expected)


def test_a_checkpoint_without_resume_leaves_the_generator_alone():
    checkpoint, expected = _saved_state()
    hook = RNGStateHook()
    hook.after_load_checkpoint(None, checkpoint)
    torch.manual_seed(0)
    hook.before_train(SimpleNamespace(iter=0))  # load_from, no resume
    torch.manual_seed(0)
    seeded = torch.rand(5)
    torch.manual_seed(0)
    assert torch.equal(torch.rand(5), seeded)
    assert not torch.equal(seeded, expected)


def test_several_processes_keep_their_seeded_generators(monkeypatch):
    from mmdet_eps_l2.hooks import rng_state_hook
    monkeypatch.setattr(rng_state_hook, 'get_world_size', lambda: 2)
    logged = []
    monkeypatch.setattr(rng_state_hook, 'print_log',
                        lambda msg, **kw: logged.append((msg, kw['level'])))
    checkpoint, expected = _saved_state()
    hook = RNGStateHook()
    hook.after_load_checkpoint(None, checkpoint)
    torch.manual_seed(0)
    seeded = torch.get_rng_state()
    hook.before_train(SimpleNamespace(iter=8))
    assert torch.equal(torch.get_rng_state(), seeded)
    [(message, level)] = logged  # saved by 2 processes too
    assert level == logging.WARNING
    assert message.startswith(
        "RNGStateHook: the checkpoint holds rank 0's RNG state only; with 2 "
        'processes torch keeps its seeded generators')


def test_a_resume_with_another_world_size_is_logged(monkeypatch):
    from mmdet_eps_l2.hooks import rng_state_hook
    monkeypatch.setattr(rng_state_hook, 'get_world_size', lambda: 2)
    checkpoint, _ = _saved_state()  # saved by 2 processes
    assert checkpoint['torch_rng_state']['world_size'] == 2
    monkeypatch.setattr(rng_state_hook, 'get_world_size', lambda: 1)
    logged = []
    monkeypatch.setattr(rng_state_hook, 'print_log',
                        lambda msg, **kw: logged.append((msg, kw['level'])))
    hook = RNGStateHook()
    hook.after_load_checkpoint(None, checkpoint)
    hook.before_train(SimpleNamespace(iter=8))
    assert logged == [(
        'RNGStateHook: resuming with 1 process(es) a run saved with 2: the '
        'global batch changed by a factor 0.5, the lr and the schedule did '
        'not', logging.WARNING)]
    # the same world size: nothing logged
    logged.clear()
    checkpoint['torch_rng_state']['world_size'] = 1
    hook.after_load_checkpoint(None, checkpoint)
    hook.before_train(SimpleNamespace(iter=8))
    assert logged == []
