"""Fold weight standardization into plain conv weights for deployment.

    python tools/fold_ws.py CONFIG CHECKPOINT OUT.pth [--out-config OUT.py]
        [--cfg-options k=v ...]
    python -m mmdet_eps_l2.tools.fold_ws ...   (the same, installed)

Builds the model of CONFIG, loads CHECKPOINT, replaces every WS conv
(``WSConv2d`` / mmcv ``ConvWS``) by an ``nn.Conv2d`` holding its standardized
weight, and saves the state dict to OUT.pth with the checkpoint's ``meta``
(dataset classes, epoch / iteration) plus ``folded_ws_convs``.
``--out-config`` writes the matching deployment config: CONFIG as loaded
(with ``--cfg-options``), not as building the model left it, with plain
convs, none of this plugin, ``resume = False``, no ``load_from`` and no
``work_dir`` (a work dir's config of a resumed run holds ``resume = True``,
which would make a test tool try to resume training from the folded
weights), so the exported detector runs with stock mmdet/mmcv (e.g.
mmdet's ``tools/test.py``).  Text and pure-Python configs are stripped
alike.
``--cfg-options data_root=DIR`` moves every split and evaluator, as in
``tools/train.py``.

The checkpoint must match the model of CONFIG exactly: a missing,
unexpected or mis-shaped key stops the tool (the message counts them and
names the first few) before anything is written, since an export with
random weights would look fine.  ``--allow-partial`` loads the keys that
match and exports anyway, listing what it skipped.
"""
import argparse
import copy
import os.path as osp
import sys
from typing import Any

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader

from ..checks.data import type_name
from ..ops.ws_family import EXACT, WS_CONV_CFG_TYPES
from .quiet import silence_known_noise
from .tool_config import load_tool_config


#: conv_cfg types of the WS convs folded (the exact family)
FOLDED_CONV_CFG_TYPES = tuple(
    name for name, family in WS_CONV_CFG_TYPES.items() if family == EXACT)


def _name(value) -> str:
    """A ``type`` as a class name: a text config's string, a pure-Python
    config's class, or the dotted path ``Config.to_dict()`` makes of it."""
    return type_name(value).rsplit('.', 1)[-1] if value is not None else ''


def strip_ws_from_config(cfg: Any) -> Any:
    """A copy of a config (dict/list tree) with WS conv settings (any dict
    of type ``WSConv2d`` / ``ConvWS``) set to ``None`` (plain conv) and this
    plugin's imports, optimizer constructor, ``eps_l2`` settings and hooks
    removed, so the folded model builds with stock mmdet.
    Types are compared by class name, so text and pure-Python configs are
    stripped alike."""

    def strip(node):
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if isinstance(value, dict) and \
                        _name(value.get('type')) in FOLDED_CONV_CFG_TYPES:
                    out[key] = None  # conv_cfg=None: plain nn.Conv2d
                elif key in ('eps_l2', 'eps_l2_optim_wrapper',
                             'eps_l2_hooks'):
                    continue
                elif key == 'constructor' and _name(value) == \
                        'EpsShiftedL2OptimWrapperConstructor':
                    continue
                elif key == 'paramwise_cfg' and isinstance(value, dict):
                    rest = {k: v for k, v in value.items() if k != 'eps_l2'}
                    if rest:
                        out[key] = strip(rest)
                elif key == 'custom_imports' and isinstance(value, dict):
                    imports = [
                        m for m in value.get('imports', [])
                        if not m.startswith('mmdet_eps_l2')
                    ]
                    if imports:
                        out[key] = dict(value, imports=imports)
                elif key == 'custom_hooks' and isinstance(value, list):
                    out[key] = [
                        strip(h) for h in value
                        if not (isinstance(h, dict) and _name(h.get('type'))
                                in ('WeightStatsHook', 'RNGStateHook'))
                    ]
                else:
                    out[key] = strip(value)
            return out
        if isinstance(node, (list, tuple)):
            return type(node)(strip(v) for v in node)
        return copy.deepcopy(node)

    return strip(cfg)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='output checkpoint (.pth)')
    parser.add_argument('--out-config', help='write a plugin-free config')
    parser.add_argument(
        '--allow-partial', action='store_true',
        help='export even when the checkpoint does not match the model '
        'exactly (the keys that do not match keep their initial values)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings, key=value (data_root=DIR '
                        'moves every split and evaluator)')
    return parser.parse_args(argv)


def deployment_config(cfg: Config) -> Config:
    """The plugin-free config of the folded model: no WS convs, none of
    this plugin, and nothing that would resume or load a training run."""
    plain = Config(strip_ws_from_config(cfg.to_dict()))
    plain.resume = False
    plain.load_from = None
    plain.pop('work_dir', None)  # the tools' default: work_dirs/<its name>
    return plain


def main(argv=None) -> int:
    silence_known_noise()
    args = parse_args(argv)
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            sys.exit(f'fold_ws: file not found: {path}')
    from mmdet.registry import MODELS

    from ..models import fold_ws_convs
    from ..utils import checkpoint_state_dict, match_state_dict
    cfg = load_tool_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    # a deep copy: the registry copies only the top level of cfg.model, and
    # some detectors write into their sub-configs while building (DETR's
    # bbox_head: share_pred_layer, num_pred_layer, as_two_stage; DINO's
    # dn_cfg), keys their __init__ then refuses when the config is reused
    model = MODELS.build(copy.deepcopy(cfg.model))
    checkpoint = CheckpointLoader.load_checkpoint(args.checkpoint,
                                                  map_location='cpu')
    state_dict = checkpoint_state_dict(checkpoint)
    match = match_state_dict(model, state_dict)
    if not match.exact:
        if not args.allow_partial:
            sys.exit(f'fold_ws: {args.checkpoint} does not match the model '
                     f'of {args.config}; nothing written:\n'
                     f'{match.describe()}\n'
                     'Use the checkpoint of this config, or --allow-partial '
                     'to export anyway.')
        print(f'fold_ws: --allow-partial: loading only the matching keys\n'
              f'{match.describe()}')
        skip = {k for k, _, _ in match.mismatched}
        state_dict = {k: v for k, v in state_dict.items() if k not in skip}
    model.load_state_dict(state_dict, strict=False)
    folded = fold_ws_convs(model)
    if folded == 0:
        sys.exit(f'fold_ws: {args.config} has no WS conv to fold')
    meta = dict(checkpoint.get('meta') or {}, folded_ws_convs=folded)
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, args.out)
    print(f'folded {folded} WS convs -> {args.out}')
    if args.out_config:
        deployment_config(cfg).dump(args.out_config)
        print(f'plugin-free config -> {args.out_config}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
