"""Fold weight standardization into plain ``nn.Conv2d`` weights for export.

A WS conv computes ``conv(x, ŵ)`` with ``ŵ`` a function of the stored weight
only, so replacing each ``WSConv2d`` / mmcv ``ConvWS2d`` by an ``nn.Conv2d``
holding ``ŵ`` gives the same outputs (within float32 rounding) and runs with
stock mmdet/mmcv, without this plugin.
"""
import copy
from typing import Any

import torch
import torch.nn as nn

from ..ops import standardize_weight
from ..optim.ws_modules import is_ws_conv

#: conv_cfg types that mean "weight-standardized conv"
WS_CONV_CFG_TYPES = ('WSConv2d', 'ConvWS')


def folded_weight(module: nn.Module) -> torch.Tensor:
    """The standardized weight a WS conv module convolves with."""
    convention = getattr(module, 'convention', 'mmcv')
    with torch.no_grad():
        return standardize_weight(module.weight, module.eps,
                                  convention).detach().clone()


def fold_ws_convs(model: nn.Module) -> int:
    """Replace, in place, every WS conv of ``model`` by a plain ``Conv2d``.

    Returns the number of convs folded.
    """
    count = 0
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if not is_ws_conv(child):
                continue
            plain = nn.Conv2d(
                child.in_channels,
                child.out_channels,
                child.kernel_size,
                stride=child.stride,
                padding=child.padding,
                dilation=child.dilation,
                groups=child.groups,
                bias=child.bias is not None,
                padding_mode=child.padding_mode,
                device=child.weight.device,
                dtype=child.weight.dtype)
            plain.weight.data.copy_(folded_weight(child))
            if child.bias is not None:
                plain.bias.data.copy_(child.bias.detach())
            plain.train(child.training)
            setattr(module, child_name, plain)
            count += 1
    return count


def strip_ws_from_config(cfg: Any) -> Any:
    """A copy of a config (dict/list tree) with WS conv settings (any dict
    of type ``WSConv2d`` / ``ConvWS``) set to ``None`` (plain conv) and this
    plugin's imports, optimizer constructor, ``eps_l2`` settings, hooks and
    runner type removed, so the folded model builds with stock mmdet."""

    def strip(node):
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if isinstance(value, dict) and \
                        value.get('type') in WS_CONV_CFG_TYPES:
                    out[key] = None  # conv_cfg=None: plain nn.Conv2d
                elif key in ('eps_l2', 'eps_l2_optim_wrapper'):
                    continue
                elif key == 'constructor' and value == \
                        'EpsShiftedL2OptimWrapperConstructor':
                    continue
                elif key == 'runner_type' and value == 'CheckedRunner':
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
                        if not (isinstance(h, dict) and h.get('type') in
                                ('WeightStatsHook', 'RNGStateHook'))
                    ]
                else:
                    out[key] = strip(value)
            return out
        if isinstance(node, (list, tuple)):
            return type(node)(strip(v) for v in node)
        return copy.deepcopy(node)

    return strip(cfg)
