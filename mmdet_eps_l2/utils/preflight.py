"""Check a training config before anything runs.

:func:`check_config` raises :class:`ConfigCheckError` naming the problem
(missing data root or annotation file, unknown conv / hook / constructor
type, bad ``eps_l2`` settings, missing plugin import) before a Runner
creates its work dir or touches a checkpoint.
"""
import importlib
import os.path as osp
from typing import Iterator, List, Tuple


class ConfigCheckError(ValueError):
    """A config that cannot train, with the reason."""


def _walk(node, path: str = '') -> Iterator[Tuple[str, object]]:
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f'{path}.{key}' if path else str(key)
            yield sub, value
            yield from _walk(value, sub)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _walk(value, f'{path}[{i}]')


def _check_imports(cfg) -> List[str]:
    problems = []
    imports = (cfg.get('custom_imports') or {}).get('imports', [])
    if isinstance(imports, str):
        imports = [imports]
    for name in imports:
        try:
            importlib.import_module(name)
        except ImportError as e:
            problems.append(f"custom_imports: cannot import '{name}' ({e})")
    return problems


def _check_registered(cfg) -> List[str]:
    from mmdet.registry import (HOOKS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS,
                                OPTIM_WRAPPERS)
    problems = []
    for path, value in _walk(cfg.get('model', {}), 'model'):
        if path.endswith('conv_cfg') and isinstance(value, dict):
            if MODELS.get(value.get('type')) is None:
                problems.append(
                    f"{path}: unknown conv type '{value.get('type')}' "
                    "(registered WS convs: 'WSConv2d', mmcv's 'ConvWS')")
    for i, hook in enumerate(cfg.get('custom_hooks') or []):
        if isinstance(hook, dict) and isinstance(hook.get('type'), str) \
                and HOOKS.get(hook['type']) is None:
            problems.append(f"custom_hooks[{i}]: unknown hook type "
                            f"'{hook['type']}'")
    optim = cfg.get('optim_wrapper') or {}
    constructor = optim.get('constructor')
    if isinstance(constructor, str) and \
            OPTIM_WRAPPER_CONSTRUCTORS.get(constructor) is None:
        problems.append(f"optim_wrapper.constructor: unknown constructor "
                        f"'{constructor}'")
    if isinstance(optim.get('type'), str) and \
            OPTIM_WRAPPERS.get(optim['type']) is None:
        problems.append(f"optim_wrapper.type: unknown optimizer wrapper "
                        f"'{optim['type']}'")
    return problems


def _check_eps_l2(cfg) -> List[str]:
    from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS
    optim = dict(cfg.get('optim_wrapper') or {})
    constructor = optim.pop('constructor', None)
    paramwise = optim.pop('paramwise_cfg', None)
    if isinstance(paramwise, dict) and 'eps_l2' in paramwise and \
            constructor != 'EpsShiftedL2OptimWrapperConstructor':
        return [f'optim_wrapper.paramwise_cfg.eps_l2 is set but the '
                f"constructor is {constructor!r}: set optim_wrapper."
                "constructor='EpsShiftedL2OptimWrapperConstructor'"]
    if constructor != 'EpsShiftedL2OptimWrapperConstructor':
        return []
    try:
        OPTIM_WRAPPER_CONSTRUCTORS.get(constructor)(
            optim_wrapper_cfg=optim, paramwise_cfg=paramwise)
    except (KeyError, TypeError, ValueError) as e:
        return [f'optim_wrapper: {e}']
    return []


def _dataset_files(cfg) -> Iterator[Tuple[str, str]]:
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(split)
        if not loader:
            continue
        dataset = loader.get('dataset', {})
        while isinstance(dataset, dict) and 'dataset' in dataset:
            dataset = dataset['dataset']  # RepeatDataset & co.
        if not isinstance(dataset, dict):
            continue
        root = dataset.get('data_root') or ''
        if root:
            yield f'{split}.dataset.data_root', root
        ann = dataset.get('ann_file')
        if ann:
            yield f'{split}.dataset.ann_file', osp.join(root, ann)
    for split in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg.get(split)
        if isinstance(evaluator, dict) and evaluator.get('ann_file'):
            yield f'{split}.ann_file', evaluator['ann_file']


def check_config(cfg, check_data: bool = True, splits=None) -> None:
    """Raise :class:`ConfigCheckError` listing every problem found."""
    problems = _check_imports(cfg)
    if not problems:
        problems += _check_registered(cfg)
        problems += _check_eps_l2(cfg)
    if check_data:
        for where, path in _dataset_files(cfg):
            if splits and not any(where.startswith(s) for s in splits):
                continue
            if not osp.exists(path):
                problems.append(f'{where}: {path} does not exist')
    if problems:
        raise ConfigCheckError('config check failed:\n  - ' +
                               '\n  - '.join(problems))
