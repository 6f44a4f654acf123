"""Check a config before anything runs.

:func:`check_config` raises :class:`ConfigCheckError` naming each problem
of the config (unknown conv / hook / constructor type, a missing
optimizer, bad ``eps_l2`` settings, an ε below the floor of a
``sqrt(var + e)`` WS conv, no trainable WS conv in the built model, bad
hook arguments, ``--amp`` without a GPU, missing plugin import, missing
data roots and annotation files); :func:`check_data` does the same for the
data a loop reads (paths, then the annotation files: :mod:`.data`).  Both
run before a Runner exists (:mod:`mmdet_eps_l2.tools.check`).
"""
import copy
import importlib
import logging
import os
import os.path as osp
import re
from typing import Iterator, List, Tuple

from ..ops.ws_family import WS_CONV_CFG_TYPES, min_shift_eps
from .data import check_coco_data, split_datasets, type_name
from .ws_model import ws_model_notes


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
        if path.endswith('conv_cfg') and isinstance(value, dict) and \
                not isinstance(value.get('type'), type):
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


#: keys of one optimizer's ``optim_wrapper`` (``constructor`` is not one:
#: a multi-optimizer constructor takes a wrapper per name instead)
WRAPPER_KEYS = ('type', 'paramwise_cfg', 'clip_grad', 'accumulative_counts',
                'loss_scale', 'dtype')


def _check_optimizer(cfg) -> List[str]:
    """An ``optim_wrapper`` for one optimizer that names none (mmengine
    would assert, or ask for built optimizers, when training starts), or
    that uses the ε-shift constructor without one."""
    optim = cfg.get('optim_wrapper') or {}
    if not isinstance(optim, dict) or 'optimizer' in optim:
        return []
    ours = type_name(optim.get('constructor')) == \
        'EpsShiftedL2OptimWrapperConstructor'
    if not ours and not any(key in optim for key in WRAPPER_KEYS):
        return []
    return ['optim_wrapper.optimizer is missing: name the optimizer, e.g. '
            "optimizer=dict(type='SGD', lr=0.02, momentum=0.9, "
            'weight_decay=1e-4)']


def _check_eps_l2(cfg) -> List[str]:
    from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS
    optim = dict(cfg.get('optim_wrapper') or {})
    if 'optimizer' not in optim:
        return []  # named by _check_optimizer
    constructor = optim.pop('constructor', None)
    paramwise = optim.pop('paramwise_cfg', None)
    ours = 'EpsShiftedL2OptimWrapperConstructor'
    has_eps_l2 = isinstance(paramwise, dict) and 'eps_l2' in paramwise
    problems = []
    if has_eps_l2 and type_name(constructor) != ours:
        problems.append(
            f'optim_wrapper.paramwise_cfg.eps_l2 is set but the '
            f"constructor is {type_name(constructor)!r}: set "
            f"optim_wrapper.constructor='{ours}'")
    elif type_name(constructor) != ours:
        return []
    try:  # the settings are checked whatever the constructor's name
        OPTIM_WRAPPER_CONSTRUCTORS.get(ours)(
            optim_wrapper_cfg=optim, paramwise_cfg=paramwise)
    except (KeyError, TypeError, ValueError) as e:
        problems.append(f'optim_wrapper: {e}')
    return problems


def _check_eps_l2_place(cfg) -> List[str]:
    """An ``eps_l2`` elsewhere than ``optim_wrapper.paramwise_cfg.eps_l2``:
    inside ``optim_wrapper`` mmengine would pass it on to a class that does
    not take it, after the work dir is made (``OptimWrapper.__init__() got
    an unexpected keyword argument 'eps_l2'``); a top-level ``eps_l2`` or
    ``paramwise_cfg`` nothing reads.  ``optim_wrapper.NAME.paramwise_cfg.
    eps_l2`` is one optimizer of several, under another constructor."""
    optim = cfg.get('optim_wrapper') or {}
    several = type_name(optim.get('constructor')) not in (
        'None', 'DefaultOptimWrapperConstructor',
        'EpsShiftedL2OptimWrapperConstructor')
    found = []
    for path, _ in _walk(optim, 'optim_wrapper'):
        parts = path.split('.')
        if parts[-1] != 'eps_l2' or parts[1:] == ['paramwise_cfg', 'eps_l2']:
            continue
        if several and len(parts) == 4 and parts[2] == 'paramwise_cfg' and \
                parts[1] not in ('optimizer', *WRAPPER_KEYS):
            continue
        found.append(path)
    found += [key for key in ('eps_l2', 'paramwise_cfg') if key in cfg]
    return [f'{path}: eps_l2 belongs in optim_wrapper.paramwise_cfg.eps_l2 '
            '(e.g. --cfg-options optim_wrapper.paramwise_cfg.eps_l2.eps=1e-3)'
            for path in found]


#: strategies and model wrappers that flatten or shard parameters
SHARDING = ('FSDPStrategy', 'DeepSpeedStrategy', 'ColossalAIStrategy',
            'MMFullyShardedDataParallel', 'FullyShardedDataParallel')


def _check_sharding(cfg) -> List[str]:
    """The ε-shift needs each WS filter whole on every rank: strategies that
    flatten or shard parameters are refused, naming DDP."""
    optim = cfg.get('optim_wrapper') or {}
    if type_name(optim.get('constructor')) != \
            'EpsShiftedL2OptimWrapperConstructor':
        return []
    problems = []
    # what the runner reads: FlexibleRunner its strategy, Runner its wrapper
    flexible = type_name(cfg.get('runner_type')) == 'FlexibleRunner'
    for where in (('strategy', 'strategy.model_wrapper') if flexible
                  else ('model_wrapper_cfg', )):
        node = cfg
        for key in where.split('.'):
            node = node.get(key) if isinstance(node, dict) or \
                hasattr(node, 'items') else None
        name = type_name(node.get('type')) if isinstance(node, dict) else ''
        if name in SHARDING:
            problems.append(
                f"{where}.type is '{name}', which flattens or shards "
                'parameters: the eps-shift (and WeightStatsHook) needs each '
                'WS conv filter whole on every rank. Train with DDP: '
                "strategy=dict(type='DDPStrategy') with "
                "runner_type='FlexibleRunner', or mmengine's default Runner "
                '(MMDistributedDataParallel)')
    return problems


#: GN+WS ImageNet checkpoints: name pattern -> (backbone type, depth)
GN_WS_CHECKPOINT = re.compile(r'(resnet|resnext)(\d+)(_32x4d)?_gn_ws')


def _check_shift_eps_floor(cfg) -> List[str]:
    """``eps_l2.eps`` below the floor of a WS conv of the model
    (:func:`~mmdet_eps_l2.ops.ws_family.min_shift_eps`: 10·√e for the
    ``sqrt(var + e)`` family), found by building one small conv of each WS
    conv config; the constructor would refuse it only after the model is
    built.  A config used only by depthwise or frozen convs, which the
    shift skips, is refused too."""
    from mmcv.cnn import build_conv_layer
    eps_l2 = ((cfg.get('optim_wrapper') or {}).get('paramwise_cfg')
              or {}).get('eps_l2')
    eps = eps_l2.get('eps') if isinstance(eps_l2, dict) else None
    if type(eps) not in (int, float):
        return []  # no shift, or a bad eps that _check_eps_l2 names
    floors: dict = {}  # conv cfg -> (floor, config keys)
    for path, node in _walk(cfg.get('model') or {}, 'model'):
        if not isinstance(node, dict) or \
                type_name(node.get('type')) not in WS_CONV_CFG_TYPES or \
                _unused_sac(cfg, path):
            continue
        key = repr(sorted(node.items(), key=lambda item: str(item[0])))
        if key not in floors:
            if type_name(node['type']) == 'SAC':
                import mmcv.ops  # noqa: F401  registers 'SAC'
            try:
                conv = build_conv_layer(dict(node), 2, 2, 1)
            except Exception:  # noqa: BLE001  named when the model is built
                continue
            floors[key] = (min_shift_eps(conv), [])
        floors[key][1].append(path)
    problems = []
    for floor, paths in floors.values():
        if eps < floor:
            more = f' (and {len(paths) - 1} more)' if len(paths) > 1 else ''
            problems.append(
                f'optim_wrapper.paramwise_cfg.eps_l2.eps={eps:g} is below '
                f'{floor:.4g}, the smallest eps the shift accepts on the WS '
                f'conv of {paths[0]}{more}: it standardizes with sqrt(var + '
                'e), scale-invariant only while the filter std is well above '
                f'sqrt(e). Use eps >= {floor:.4g}, or WSConv2d with '
                "convention='mmcv' there")
    return problems


def _unused_sac(cfg, path: str) -> bool:
    """A ResNet's ``sac`` config that ``stage_with_sac`` uses in no stage
    (DetectoRS backbones)."""
    if not path.endswith('.sac') or '[' in path:
        return False
    owner = cfg  # a Config, then ConfigDicts
    for key in path[:-len('.sac')].split('.'):
        owner = owner.get(key) if hasattr(owner, 'get') else None
    return hasattr(owner, 'get') and \
        not any(owner.get('stage_with_sac') or ())


def _has_ws_conv(node) -> bool:
    if isinstance(node, dict):
        if type_name(node.get('type')) in WS_CONV_CFG_TYPES:
            return True
        return any(_has_ws_conv(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return any(_has_ws_conv(v) for v in node)
    return False


def _check_ws_recipe(cfg) -> List[str]:
    """The two ways the "own detector" recipe goes wrong silently: the
    ε-shift without any WS conv (a later ``model = dict(...)`` in the same
    file replaced the GN+WS one), and a GN+WS checkpoint of another depth."""
    problems = []
    model = cfg.get('model') or {}
    optim = cfg.get('optim_wrapper') or {}
    eps_l2 = (optim.get('paramwise_cfg') or {}).get('eps_l2')
    if isinstance(eps_l2, dict) and \
            not eps_l2.get('allow_no_ws_conv', False) and \
            not _has_ws_conv(model):
        problems.append(
            'optim_wrapper.paramwise_cfg.eps_l2 is set but no conv_cfg of '
            'the model has a weight-standardized type '
            f'{tuple(WS_CONV_CFG_TYPES)}. If '
            'the GN+WS settings came from a base (e.g. model = '
            '{{_base_.gn_ws_mask_rcnn}}), a second `model = dict(...)` in '
            'the same file replaced them: put conv_cfg=dict(type='
            "'WSConv2d') and the GN norm_cfg in that dict (README, 'Add the "
            "plugin to your own detector'), or set "
            'eps_l2.allow_no_ws_conv=True to train without the shift')
    backbone = model.get('backbone') or {}
    checkpoint = (backbone.get('init_cfg') or {}).get('checkpoint')
    match = GN_WS_CHECKPOINT.search(checkpoint) \
        if isinstance(checkpoint, str) else None
    if match and isinstance(backbone.get('depth'), int):
        kind, depth = match.group(1), int(match.group(2))
        btype = type_name(backbone.get('type', ''))
        is_resnext = 'ResNeXt' in btype
        if depth != backbone['depth'] or is_resnext != (kind == 'resnext'):
            problems.append(
                f'model.backbone.init_cfg.checkpoint is {checkpoint} '
                f'({kind}, depth {depth}) but model.backbone is {btype} of '
                f"depth {backbone['depth']}: choose the GN+WS checkpoint of "
                'that backbone (open-mmlab://jhu/resnet50_gn_ws, '
                'resnet101_gn_ws, resnext50_32x4d_gn_ws, '
                'resnext101_32x4d_gn_ws) or set model.backbone.init_cfg')
    return problems


def _check_efficient_conv_bn_eval(cfg) -> List[str]:
    """mmcv's ``ConvModule(efficient_conv_bn_eval=True)`` convolves with the
    raw ``conv.weight`` in eval mode: with a WS conv, silently another
    function."""
    model = cfg.get('model') or {}
    if not _has_ws_conv(model):
        return []
    return [f'{path}=True: mmcv computes conv + BN in eval mode from the raw '
            'conv weight, bypassing weight standardization (its output is '
            "that of another conv); drop it in a model with WS convs"
            for path, value in _walk(model, 'model')
            if path.endswith('efficient_conv_bn_eval') and value is True]


#: hooks of this plugin: cheap to build, so their arguments are checked by
#: building them
PLUGIN_HOOKS = ('WeightStatsHook', 'RNGStateHook')


def _check_plugin_hooks(cfg) -> List[str]:
    from mmdet.registry import HOOKS
    problems = []
    for i, hook in enumerate(cfg.get('custom_hooks') or []):
        if isinstance(hook, dict) and \
                type_name(hook.get('type')) in PLUGIN_HOOKS:
            try:
                HOOKS.build(dict(hook))
            except (TypeError, ValueError) as e:
                problems.append(
                    f'custom_hooks[{i}] ({type_name(hook["type"])}): {e}')
    return problems


def _missing_plugin_hooks(cfg) -> List[str]:
    """A note when the ε-shift trains without the plugin's hooks (a
    ``custom_hooks`` of the user's own that replaced the snippet's)."""
    optim = cfg.get('optim_wrapper') or {}
    if type_name(optim.get('constructor')) != \
            'EpsShiftedL2OptimWrapperConstructor':
        return []
    present = {type_name(h.get('type')) for h in cfg.get('custom_hooks') or []
               if isinstance(h, dict)}
    lost = {'WeightStatsHook': 'σ is not logged',
            'RNGStateHook': 'a resumed run does not continue the same '
            'random numbers'}
    missing = [h for h in PLUGIN_HOOKS if h not in present]
    if not missing:
        return []
    return [f'custom_hooks has no {" and no ".join(missing)}: '
            f'{" and ".join(lost[h] for h in missing)}; keep your hooks and '
            "add the plugin's with custom_hooks = "
            "[*_base_.get('custom_hooks', []), *_base_.eps_l2_hooks]"]


def _build_model(cfg):
    """``(model, problems)``: ``cfg.model`` built (no weights are loaded)
    where a check needs it, with this package's constructor
    (:func:`_check_built_model`) or a WS ``conv_cfg``
    (:func:`~.ws_model.partial_ws_notes`); else ``(None, [])``."""
    from mmdet.registry import MODELS
    optim = cfg.get('optim_wrapper') or {}
    if (type_name(optim.get('constructor')) !=
            'EpsShiftedL2OptimWrapperConstructor' or
            'optimizer' not in optim) and \
            not _has_ws_conv(cfg.get('model') or {}):
        return None, []
    try:
        return MODELS.build(copy.deepcopy(cfg.model)), []
    except Exception as e:  # noqa: BLE001  what the Runner would raise
        return None, [f'model: cannot be built: {type(e).__name__}: {e}']


def _check_built_model(cfg, model) -> List[str]:
    """What only the built model (:func:`_build_model`) shows: with this
    package's constructor, its parameter groups, which refuse an ε below a
    WS conv's floor and a model without a trainable WS conv."""
    from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS
    from mmengine.logging import MMLogger
    optim = copy.deepcopy(dict(cfg.get('optim_wrapper') or {}))
    constructor = optim.pop('constructor', None)
    if type_name(constructor) != 'EpsShiftedL2OptimWrapperConstructor' or \
            'optimizer' not in optim:
        return []
    paramwise_cfg = optim.pop('paramwise_cfg', None)  # as mmengine builds it
    # mmengine's lines per parameter are printed when the Runner builds the
    # optimizer; not twice
    logger = MMLogger.get_current_instance()
    below_error = _BelowError()
    logger.addFilter(below_error)
    try:
        OPTIM_WRAPPER_CONSTRUCTORS.build(
            dict(type=constructor, optim_wrapper_cfg=optim,
                 paramwise_cfg=paramwise_cfg)).build_param_groups(model)
    except (KeyError, TypeError, ValueError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        return [f'optim_wrapper: {message}']
    finally:
        logger.removeFilter(below_error)
    return []


class _BelowError(logging.Filter):
    """Drops the records below ERROR."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


#: devices on which mmengine's AmpOptimWrapper trains
AMP_DEVICES = ('cuda', 'npu', 'mlu', 'musa')


def _check_amp(cfg) -> List[str]:
    from mmengine.device import get_device
    optim = cfg.get('optim_wrapper') or {}
    if type_name(optim.get('type')) != 'AmpOptimWrapper':
        return []
    device = get_device()
    if device in AMP_DEVICES:
        return []
    return [f"optim_wrapper.type is 'AmpOptimWrapper' (--amp), but this "
            f"machine has no {'/'.join(AMP_DEVICES)} device (found: "
            f"{device}); mmengine's AmpOptimWrapper trains only there. "
            "On CPU, train in fp32: drop --amp (or set "
            "optim_wrapper.type='OptimWrapper')"]


def _dataset_files(cfg) -> Iterator[Tuple[str, str]]:
    for where, dataset in split_datasets(cfg):
        root = dataset.get('data_root') or ''
        if root:
            yield f'{where}.data_root', root
        ann = dataset.get('ann_file')
        if ann:
            yield f'{where}.ann_file', osp.join(root, ann)
    for split in ('val_evaluator', 'test_evaluator'):
        evaluators = cfg.get(split)
        many = isinstance(evaluators, (list, tuple))
        for i, evaluator in enumerate(evaluators if many else [evaluators]):
            if isinstance(evaluator, dict) and evaluator.get('ann_file'):
                where = f'{split}[{i}]' if many else split
                yield f'{where}.ann_file', evaluator['ann_file']


def _check_data_paths(cfg, splits=None) -> List[str]:
    """Missing data roots and annotation files, each named once (a file
    under a missing root is not listed again)."""
    problems, missing_roots, relative = [], [], False
    for where, path in _dataset_files(cfg):
        if splits and not any(where.startswith(s) for s in splits):
            continue
        if osp.exists(path):
            continue
        if any(path.startswith(root) for root in missing_roots):
            continue
        if where.endswith('data_root'):
            missing_roots.append(path)
        relative = relative or not osp.isabs(path)
        problems.append(f'{where}: {path} does not exist')
    if problems and relative:
        problems.append(
            f'relative paths are taken from the current directory '
            f'({os.getcwd()}); run from the directory that holds the data or '
            'give an absolute root: --cfg-options data_root=/path/to/data/ '
            "(this package's tools apply it to every split and evaluator)")
    return problems


#: the dataloaders and evaluators a run reads, by entry point
SPLITS = {
    'train': ('train_dataloader', 'val_dataloader', 'val_evaluator'),
    'val': ('val_dataloader', 'val_evaluator'),
    'test': ('test_dataloader', 'test_evaluator'),
}


def _raise(problems: List[str]) -> None:
    if problems:
        raise ConfigCheckError('config check failed:\n  - ' +
                               '\n  - '.join(problems))


def check_config(cfg, check_paths: bool = True) -> List[str]:
    """Raise :class:`ConfigCheckError` listing every problem of the config
    itself (imports, registered types, the optimizer, ``eps_l2`` and the
    smallest ε of the model's WS convs, hooks, the WS recipe, ``--amp``
    without a GPU), then of the model it builds (no trainable WS conv) and,
    with ``check_paths``, every data root and annotation file of its
    dataloaders and evaluators that does not exist.

    Returns:
        Notes that do not stop training (the plugin's hooks left out; WS
        convs given weights never trained as WS, or left plain:
        :mod:`.ws_model`).
    """
    problems = _check_imports(cfg)
    if not problems:
        problems += _check_registered(cfg)
        problems += _check_optimizer(cfg)
        problems += _check_eps_l2_place(cfg)
        problems += _check_eps_l2(cfg)
        problems += _check_sharding(cfg)
        problems += _check_shift_eps_floor(cfg)
        problems += _check_plugin_hooks(cfg)
        problems += _check_ws_recipe(cfg)
        problems += _check_efficient_conv_bn_eval(cfg)
    problems += _check_amp(cfg)
    if check_paths:
        problems += _check_data_paths(cfg)
    model = None
    if not problems:
        model, problems = _build_model(cfg)
    if model is not None:
        problems += _check_built_model(cfg, model)
    _raise(problems)
    return _missing_plugin_hooks(cfg) + ws_model_notes(cfg, model)


def check_data(cfg, entry: str, inspect_data: bool = True) -> List[str]:
    """Raise :class:`ConfigCheckError` listing every problem of the data
    that ``entry`` (``'train'``, ``'val'`` or ``'test'``) reads: missing
    paths (again: files may have moved since :func:`check_config`) and,
    with ``inspect_data``, the annotation files' contents
    (:func:`~mmdet_eps_l2.checks.data.check_coco_data`).

    Returns:
        Notes worth printing that do not stop training (data counts).
    """
    splits = SPLITS[entry]
    problems = _check_data_paths(cfg, splits)
    notes: List[str] = []
    if inspect_data and not problems:
        loaders = [s for s in splits if s.endswith('dataloader')]
        problems, notes = check_coco_data(cfg, loaders)
    _raise(problems)
    if entry == 'train':
        notes += _frozen_at_random(cfg)
    return notes


def _frozen_at_random(cfg) -> List[str]:
    """A backbone trained from scratch (no ``init_cfg``) whose first stages
    are frozen keeps them at their random initialization."""
    backbone = (cfg.get('model') or {}).get('backbone') or {}
    frozen = backbone.get('frozen_stages', -1)
    if backbone.get('init_cfg') or not isinstance(frozen, int) or frozen < 0:
        return []
    stages = f' and stage(s) 1-{frozen}' if frozen else ''
    return [f'model.backbone has no init_cfg (trained from scratch) and '
            f'frozen_stages={frozen}: the stem{stages} stay at their random '
            'initialization for the whole run; set '
            'model.backbone.frozen_stages=-1 to train them']
