"""Notes on a model's weight-standardized convs: weights that were never
trained with weight standardization loaded into them, and modules set to a
WS ``conv_cfg`` whose convs are not all WS.

**A checkpoint without WS** (:func:`checkpoint_notes`).  ``WSConv2d`` and
mmcv's ``ConvWS2d`` convolve with ``(w - μ) / (σ + 1e-5)`` of each filter.
Weights trained without it (``torchvision://resnet50``,
``open-mmlab://resnet50_v1c``) load unchanged, so every filter computes
another function than the one it was trained for; GN+WS detectors train
markedly worse without WS-pretrained weights, and ``frozen_stages`` keeps
such weights for the whole run.  mmcv's ``ConvAWS2d`` and ``SAConv2d``
(``ConvAWS`` / ``SAC``) are left alone: as they load a checkpoint without
their ``weight_gamma`` / ``weight_beta`` they set them to each filter's σ
and μ, which gives back the trained filters.

Checkpoints are told apart by name alone; nothing is downloaded or
opened (:func:`is_ws_checkpoint`): a name with a ``ws`` word
(``resnet50_gn_ws``, ``gn-ws``, ``gn+ws``) is weight-standardized, a
published one without it (``torchvision://``, ``open-mmlab://``,
``mmcls://``, ``http(s)://``) is not, and a local file is not judged.
The note names the GN+WS ImageNet checkpoint of the backbone where one is
published (:data:`WS_CHECKPOINTS`).

**Partial WS** (:func:`partial_ws_notes`).  A module given a WS
``conv_cfg`` whose built ``nn.Conv2d`` are not all WS: it builds some
convs without its ``conv_cfg`` (RTMDet's ``CSPNeXt``: the stem and each
block's first conv).  Not counted: a head's own conv layers (its
predictors: ``FCNMaskHead.conv_logits``, ``RetinaHead.retina_cls``, plain
in mmdet's GN+WS models too; ``RPNHead.rpn_conv`` is one of them), and the
convs inside mmcv ops and WS convs (offsets of deformable convs, the
switch of ``SAConv2d``).
"""
import re
from typing import Iterator, List, Optional, Tuple

import torch.nn as nn

from ..ops.ws_family import WS_CONV_CFG_TYPES, is_ws_conv
from .data import type_name

#: WS conv types that convert plain weights as they load them (mmcv's
#: ``ConvAWS2d`` and ``SAConv2d``)
CONVERTS_PLAIN_WEIGHTS = ('ConvAWS', 'SAC')
#: GN+WS ImageNet checkpoints published under open-mmlab://jhu/ (mmengine's
#: hub/openmmlab.json), by ``(backbone type, depth)``
WS_CHECKPOINTS = {
    ('ResNet', 50): 'open-mmlab://jhu/resnet50_gn_ws',
    ('ResNet', 101): 'open-mmlab://jhu/resnet101_gn_ws',
    ('ResNeXt', 50): 'open-mmlab://jhu/resnext50_32x4d_gn_ws',
    ('ResNeXt', 101): 'open-mmlab://jhu/resnext101_32x4d_gn_ws',
}
#: checkpoint names whose source is a published model zoo
PUBLISHED = re.compile(r'(torchvision|modelzoo|open-?mmlab|mmcls|'
                       r'mmpretrain|https?)://')
#: a ``ws`` word in a checkpoint name (``gn_ws``, ``gn-ws``, ``gn+ws``)
WS_WORD = re.compile(r'(?<![a-z0-9])ws(?![a-z])')
#: module names shown in a note
SHOWN_MODULES = 4


def _type(node) -> str:
    """The ``type`` name of a config dict (:func:`~.data.type_name`), ''
    for anything else."""
    return type_name(node.get('type')) if isinstance(node, dict) else ''


def is_ws_checkpoint(name) -> Optional[bool]:
    """True for a name with a ``ws`` word, False for a published checkpoint
    without one, None (not judged) for anything else."""
    if not isinstance(name, str) or not name:
        return None
    lower = name.lower().replace('%2b', '+')
    if WS_WORD.search(lower):
        return True
    return False if PUBLISHED.match(lower) else None


def _pretrained(init_cfg) -> Optional[str]:
    """The checkpoint of a ``Pretrained`` init_cfg (a dict or a list)."""
    for item in init_cfg if isinstance(init_cfg, (list, tuple)) \
            else [init_cfg]:
        if isinstance(item, dict) and _type(item) in (
                'Pretrained', 'PretrainedInit'):
            return item.get('checkpoint')
    return None


def ws_conv_cfgs(node, path: str = 'model') -> Iterator[Tuple[str, str]]:
    """``(config key of the owner, conv type)`` of each WS ``conv_cfg``."""
    if isinstance(node, dict):
        conv_cfg = node.get('conv_cfg')
        if _type(conv_cfg) in WS_CONV_CFG_TYPES:
            yield path, _type(conv_cfg)
        for key, value in node.items():
            if key != 'conv_cfg':
                yield from ws_conv_cfgs(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from ws_conv_cfgs(value, f'{path}[{i}]')


def _frozen(backbone: dict) -> str:
    frozen = backbone.get('frozen_stages', -1)
    if not isinstance(frozen, int) or frozen < 0:
        return ''
    stages = '' if not frozen else ' and stage 1' if frozen == 1 else \
        f' and stages 1-{frozen}'
    return (f'; frozen_stages={frozen} keeps the stem{stages} at those '
            'weights, never trained as WS, for the whole run')


def _ws_checkpoint_of(backbone: dict) -> str:
    btype, depth = _type(backbone), backbone.get('depth')
    if btype == 'ResNeXt' and (backbone.get('groups'),
                               backbone.get('base_width')) != (32, 4):
        btype = ''
    ws = WS_CHECKPOINTS.get((btype, depth))
    if ws:
        return f'Use {ws}, the GN+WS ImageNet checkpoint of {btype}-{depth}'
    return ('No GN+WS checkpoint of this backbone is published (open-mmlab:'
            '//jhu/ has ResNet-50/101 and ResNeXt-50/101 32x4d): train it '
            'from scratch (init_cfg=None, frozen_stages=-1)')


def checkpoint_notes(cfg) -> List[str]:
    """Notes on ``model.backbone.init_cfg`` and ``load_from`` checkpoints
    that are not weight-standardized, loaded into WS convs that do not
    convert them."""
    model = cfg.get('model') or {}
    plain_loading = [(path, t) for path, t in ws_conv_cfgs(model)
                     if t not in CONVERTS_PLAIN_WEIGHTS]
    if not plain_loading:
        return []
    notes = []
    backbone = model.get('backbone') or {}
    backbone_ws = [t for path, t in plain_loading if path == 'model.backbone']
    checkpoint = _pretrained(backbone.get('init_cfg'))
    if backbone_ws and is_ws_checkpoint(checkpoint) is False:
        notes.append(
            f'model.backbone.init_cfg.checkpoint is {checkpoint}, by its '
            'name weights trained without weight standardization, but the '
            'convs of '
            f'model.backbone are {backbone_ws[0]}: they standardize each '
            'loaded filter, which then computes another function than the '
            'one it was trained for (GN+WS detectors train markedly worse '
            f'without WS-pretrained weights){_frozen(backbone)}. '
            f'{_ws_checkpoint_of(backbone)}')
    load_from = cfg.get('load_from')
    if is_ws_checkpoint(load_from) is False:
        places = [path for path, _ in plain_loading]
        more = f' and {len(places) - 3} more' if len(places) > 3 else ''
        notes.append(
            f'load_from is {load_from}, a published checkpoint without '
            '"ws" in its name (by its name, trained without weight '
            'standardization), but '
            f'the convs of {", ".join(places[:3])}{more} are '
            f'{plain_loading[0][1]}: they standardize each loaded filter, '
            'which then computes another function than the one it was '
            "trained for. Load a GN+WS detector's checkpoint (mmdet's "
            'configs/gn+ws) or none')
    return notes


def _module_path(config_key: str) -> str:
    """``model.roi_head.bbox_head[1]`` -> ``roi_head.bbox_head.1``."""
    return re.sub(r'\[(\d+)\]', r'.\1', config_key)[len('model.'):]


def partial_ws_notes(cfg, model: nn.Module) -> List[str]:
    """Notes on modules given a WS ``conv_cfg`` whose convs are not all WS
    (``model``: the built ``cfg.model``)."""
    owners = []
    for key, conv_type in ws_conv_cfgs(cfg.get('model') or {}):
        if key == 'model' or any(key.startswith(o + '.') or
                                 key.startswith(o + '[')
                                 for o, _ in owners):
            continue  # the whole model, or inside a module already counted
        owners.append((key, conv_type))
    notes = []
    for key, conv_type in owners:
        try:
            module = model.get_submodule(_module_path(key))
        except AttributeError:
            continue  # a config dict that is not a module of its own
        head = key.rsplit('.', 1)[-1].split('[')[0].endswith('head')
        inner = [name for name, m in module.named_modules() if name and (
            is_ws_conv(m) or type(m).__module__.startswith('mmcv.ops'))]
        convs = [(name, m) for name, m in module.named_modules()
                 if isinstance(m, nn.Conv2d) and
                 not (head and '.' not in name) and
                 not any(name.startswith(p + '.') for p in inner)]
        plain = [name for name, m in convs if not is_ws_conv(m)]
        if not plain:
            continue
        notes.append(
            f'{key}.conv_cfg is {conv_type}, but {len(plain)} of the '
            f'{len(convs)} convs of {key} ({type(module).__name__}) are '
            'plain nn.Conv2d, built without that conv_cfg: e.g. '
            f'{", ".join(plain[:SHOWN_MODULES])}; only '
            f'{len(convs) - len(plain)} are weight-standardized')
    return notes


def ws_model_notes(cfg, model: Optional[nn.Module] = None) -> List[str]:
    """:func:`checkpoint_notes`, and :func:`partial_ws_notes` when the
    model is built."""
    notes = checkpoint_notes(cfg)
    if model is not None:
        notes += partial_ws_notes(cfg, model)
    return notes
