"""Check a config, the model it builds and its data, before anything is
written.

    python -m mmdet_eps_l2.tools.check CONFIG [--test] [--no-data-check]
        [--cfg-options k=v ...]
    python tools/check.py ...          (the same, from the repository)

It exits 0 (printing its notes, e.g. odd annotations mmdet will drop) when
the config can train, or 1 with every problem named by its config key or
file.  ``--test`` checks what ``tools/test.py`` reads instead of what
training reads.  This package's ``train`` and ``test`` run the same check
once, on rank 0, before any Runner exists (:func:`check_and_build_runner`);
with mmdet's own tools, run it first.
"""
import argparse
import os
import sys
import time
import traceback
from typing import List

from ..checks import ConfigCheckError, check_config, check_data


def run_checks(cfg, entry: str = 'train',
               inspect_data: bool = True) -> List[str]:
    """Raise :class:`~mmdet_eps_l2.checks.ConfigCheckError` naming every
    problem of ``cfg`` and of the data ``entry`` (``'train'``, ``'val'``
    or ``'test'``) reads; return the notes that do not stop it.  The
    default scope must be set (``init_default_scope``)."""
    notes = check_config(cfg)
    return notes + check_data(cfg, entry, inspect_data=inspect_data)


def check_once(cfg, entry: str, inspect_data: bool, tool: str,
               config: str) -> None:
    """:func:`run_checks` on rank 0 only; on a refusal every rank exits with
    status 1 (rank 0 printing the message), before any of them writes
    anything, the process group destroyed (:func:`_exit_every_rank`).  With
    several processes the process group must exist already."""
    from mmengine.dist import broadcast_object_list, get_rank, \
        get_world_size
    message = None
    if get_rank() == 0:
        start = time.perf_counter()
        try:
            notes = run_checks(cfg, entry, inspect_data)
        except ConfigCheckError as e:
            message = f'{tool}: {config}: {e}'
        except Exception:  # noqa: BLE001  a bug: the other ranks must not wait
            message = (f'{tool}: {config}: the check failed:\n'
                       f'{traceback.format_exc()}')
        else:
            for note in notes:
                print(f'{tool}: note: {note}', file=sys.stderr)
            print(f'{tool}: {config}: checked the config, the model and '
                  f'the data of {entry} in {time.perf_counter() - start:.1f}'
                  ' s', file=sys.stderr)
    if get_world_size() > 1:
        box = [message]
        broadcast_object_list(box, src=0)
        message = box[0]
    if message is None:
        return
    if get_world_size() == 1:
        sys.exit(message)
    _exit_every_rank(message if get_rank() == 0 else None)


def _exit_every_rank(message) -> None:
    """End every rank of a refused run at once, with status 1: no rank may
    outlive another by the launcher's poll interval (torchrun's 0.1 s),
    or the launcher signals the ones still running.  Each rank prints (rank
    0 the message), meets the others at a barrier, leaves the process group
    and exits without the interpreter's slow teardown (nothing was written
    that needs it)."""
    import torch.distributed as dist
    if message is not None:
        print(message, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    dist.barrier()
    dist.destroy_process_group()
    os._exit(1)


def check_and_build_runner(cfg, args, tool: str, entry: str):
    """Check ``cfg`` once (rank 0, :func:`~.check.check_once`), then build
    the Runner that ``cfg.runner_type`` names (mmengine's by default), as
    mmdet's tools do.  A refusal, or a launcher that did not start this
    process, exits naming the problem before anything is written."""
    import mmdet_eps_l2  # noqa: F401  registers the plugin
    from mmengine.registry import RUNNERS, init_default_scope
    from mmdet.utils import setup_cache_size_limit_of_dynamo

    from ..utils import init_distributed

    init_default_scope(cfg.get('default_scope', 'mmdet'))
    setup_cache_size_limit_of_dynamo()
    try:
        init_distributed(cfg, args.launcher)
    except RuntimeError as e:
        sys.exit(f'{tool}: {e}')
    check_once(cfg, entry, not args.no_data_check, tool, args.config)
    return RUNNERS.build(cfg)


def main(argv=None) -> int:
    from mmengine.config import DictAction
    from mmengine.registry import init_default_scope

    import mmdet_eps_l2  # noqa: F401  registers the plugin
    from .tool_config import load_tool_config
    parser = argparse.ArgumentParser(
        description='Check a config and its data before training')
    parser.add_argument('config')
    parser.add_argument('--test', action='store_true',
                        help="check what testing reads (test_dataloader, "
                        'test_evaluator)')
    parser.add_argument('--no-data-check', action='store_true',
                        help='check the data paths, not the files')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = load_tool_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    check_once(cfg, 'test' if args.test else 'train', not args.no_data_check,
               'check', args.config)
    return 0


if __name__ == '__main__':
    sys.exit(main())
