"""Which modules are weight-standardized convs, and which of their weights
get the ε-shifted L2 regularizer; torch only, one place for all layers.

Two families, by how a conv standardizes its weight per output filter:

* ``'exact'``: ``ŵ = (w - μ) / (σ + ε_ws)``, σ unbiased, ε_ws = 1e-5 added
  to σ: this package's ``WSConv2d`` (default ``convention='mmcv'``) and
  mmcv's ``ConvWS2d``.  Scale-invariant while σ ≫ ε_ws.
* ``'variance_eps'``: ``ŵ = (w - μ) / sqrt(σ² + e)``: mmcv's ``ConvAWS2d``
  (DetectoRS) and ``SAConv2d`` (σ unbiased, e = 1e-5, then an affine
  ``γ ŵ + β``) and ``WSConv2d(convention='timm')`` (σ biased, e = its
  ``eps``).  Scale-invariant only while σ² ≫ e.  The shift pulls σ
  towards ε, so for these it is allowed only with ε ≥ 10·√e
  (:func:`min_shift_eps`; for σ ≥ 10·√e, ``σ / sqrt(σ² + e) ≥ 0.995``,
  within 0.5 % of the scale-invariant ``(w - μ)/σ``); a smaller ε is
  refused with a message.

A module says its family with a ``ws_family`` attribute (``WSConv2d``) and,
for ``'variance_eps'``, its ``e`` with ``variance_eps``.

mmcv classes are recognised by their qualified names, so nothing here
imports mmcv.  Depthwise WS convs (one input channel per filter) are not
shifted, as in the reference implementation.
"""
import math
from typing import Dict, Optional

import torch.nn as nn

EXACT = 'exact'
VARIANCE_EPS = 'variance_eps'
#: mmcv's weight-standardized convs, by qualified class name
MMCV_WS_CONVS = {
    'mmcv.cnn.bricks.conv_ws.ConvWS2d': EXACT,
    'mmcv.cnn.bricks.conv_ws.ConvAWS2d': VARIANCE_EPS,
    'mmcv.ops.saconv.SAConv2d': VARIANCE_EPS,
}
#: ``conv_cfg`` type names of WS convs in configs (this package's and
#: mmcv's registry names)
WS_CONV_CFG_TYPES = {
    'WSConv2d': EXACT,
    'ConvWS': EXACT,
    'ConvAWS': VARIANCE_EPS,
    'SAC': VARIANCE_EPS,
}
#: the eps inside the root of mmcv's ConvAWS2d and SAConv2d
MMCV_VARIANCE_EPS = 1e-5
#: the smallest ε the shift accepts on mmcv's 'variance_eps' convs
MIN_EPS_VARIANCE_EPS = 10 * math.sqrt(MMCV_VARIANCE_EPS)


def ws_family(module: nn.Module) -> Optional[str]:
    """``'exact'``, ``'variance_eps'`` or None (not a WS conv)."""
    family = getattr(module, 'ws_family', None)
    if isinstance(family, str):
        return family
    for cls in type(module).__mro__:
        family = MMCV_WS_CONVS.get(f'{cls.__module__}.{cls.__qualname__}')
        if family is not None:
            return family
    return None


def min_shift_eps(module: nn.Module) -> float:
    """The smallest ε the shift accepts on ``module``: 10·√e for a
    ``'variance_eps'`` conv (e: its ``variance_eps``, 1e-5 for mmcv's), 0
    for the exact family."""
    if ws_family(module) != VARIANCE_EPS:
        return 0.
    return 10 * math.sqrt(getattr(module, 'variance_eps', MMCV_VARIANCE_EPS))


def is_ws_conv(module: nn.Module) -> bool:
    """Whether ``module`` standardizes its weight (either family)."""
    return ws_family(module) is not None


def is_depthwise(module: nn.Module) -> bool:
    """Filters with a single input channel (``C_in / groups == 1``)."""
    return module.weight.shape[1] == 1


def eps_shift_weights(model: nn.Module,
                      eps: Optional[float] = None) -> Dict[int, str]:
    """``id(weight) -> name`` of every WS conv weight that gets the ε-shift.

    Trainable weights of non-depthwise WS convs of both families; with
    ``eps`` given, a ``'variance_eps'`` conv with ``eps <``
    :func:`min_shift_eps` of it raises ``ValueError`` naming the module, as
    does a WS conv whose weight is not whole filters (flattened by FSDP).
    """
    found: Dict[int, str] = {}
    for name, module in model.named_modules():
        family = ws_family(module)
        if family is None:
            continue
        if module.weight.dim() < 3:
            raise ValueError(
                f'{name} ({type(module).__name__}) holds a weight of shape '
                f'{tuple(module.weight.shape)}, not whole filters (a '
                'flattened or sharded parameter, as FSDP and DeepSpeed make '
                'them): the eps-shift needs each filter whole. Train with '
                'DDP (DDPStrategy, or the default Runner)')
        if is_depthwise(module) or not module.weight.requires_grad:
            continue
        if eps is not None and eps < min_shift_eps(module):
            e = f"{getattr(module, 'variance_eps', MMCV_VARIANCE_EPS):g}"
            e = e.replace('e-0', 'e-')  # 1e-5, not 1e-05
            raise ValueError(
                f'{name} ({type(module).__name__}) standardizes with '
                f'sqrt(var + {e}): it is scale-invariant only while the '
                f'filter variance is well above {e}, and the eps-shifted '
                f'L2 would pull its std towards eps={eps:g}, where it is '
                f'not. Use eps >= {min_shift_eps(module):.4g}, or WSConv2d '
                "with convention='mmcv' for this layer")
        found.setdefault(id(module.weight),
                         f'{name}.weight' if name else 'weight')
    return found
