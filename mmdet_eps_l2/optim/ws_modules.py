"""Which modules are weight-standardized convs, and which of their weights
the ε-shifted L2 regularizer applies to."""
from typing import Dict, Tuple

import torch.nn as nn


def ws_conv_types() -> Tuple[type, ...]:
    """This package's ``WSConv2d`` and mmcv's ``ConvWS2d``."""
    from mmcv.cnn.bricks.conv_ws import ConvWS2d

    from ..models.ws_conv import WSConv2d
    return (WSConv2d, ConvWS2d)


def is_ws_conv(module: nn.Module) -> bool:
    return isinstance(module, ws_conv_types())


def is_depthwise(module: nn.Module) -> bool:
    """Filters with a single input channel (``C_in / groups == 1``)."""
    return module.weight.shape[1] == 1


def eps_shift_weights(model: nn.Module) -> Dict[int, str]:
    """``id(weight) -> name`` of every WS conv weight that gets the ε-shift.

    Depthwise WS convs (one input channel per filter) are excluded, as in
    the reference implementation: their weights follow the stock
    ``paramwise_cfg`` rules (``dwconv_decay_mult`` ...).
    """
    found: Dict[int, str] = {}
    for name, module in model.named_modules():
        if is_ws_conv(module) and not is_depthwise(module) \
                and module.weight.requires_grad:
            found.setdefault(id(module.weight),
                             f'{name}.weight' if name else 'weight')
    return found
