"""Fold weight standardization into plain ``nn.Conv2d`` weights for export.

A WS conv computes ``conv(x, ŵ)`` with ``ŵ`` a function of the stored weight
only, so replacing each ``WSConv2d`` (either convention) / mmcv ``ConvWS2d``
by an ``nn.Conv2d`` holding ``ŵ`` gives the same outputs (within float32
rounding) and runs with stock mmdet/mmcv, without this plugin.
"""
import torch
import torch.nn as nn

from ..ops import standardize_weight
from ..ops.ws_family import EXACT, ws_family
from .ws_conv import WSConv2d


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
            # WSConv2d of either convention, mmcv's ConvWS2d (ConvAWS2d's
            # affine and SAConv2d's switch are not plain convs)
            if not (isinstance(child, WSConv2d)
                    or ws_family(child) == EXACT):
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
