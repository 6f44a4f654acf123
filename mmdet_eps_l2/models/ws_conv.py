"""``WSConv2d``: a weight-standardized ``nn.Conv2d`` for mmdet's ``conv_cfg``."""
from typing import Tuple, Union

import torch
import torch.nn as nn
from mmengine.registry import MODELS

from ..ops import (CONVENTIONS, check_non_negative, check_ws_weight_shape,
                   standardize_weight)
from ..ops.ws_family import EXACT, VARIANCE_EPS

_size_2_t = Union[int, Tuple[int, int]]


@MODELS.register_module()
class WSConv2d(nn.Conv2d):
    """2-D convolution with per-filter weight standardization.

    Before every convolution each output filter ``w_f`` of the weight is
    replaced by

        ŵ_f = (w_f - μ_f) / (σ_f + eps)

    with ``σ_f`` the **unbiased** filter standard deviation and ``eps``
    (default ``1e-5``) added outside the square root: the convention of
    mmcv's ``ConvWS2d`` and of the published GN+WS checkpoints, which load
    unchanged (same state-dict keys ``weight`` / ``bias``) and give the same
    outputs.  ``convention='timm'`` selects timm's ``StdConv2d`` convention
    (biased σ, ``(w - μ) / sqrt(σ² + eps)``) explicitly.

    The constructor takes the arguments of ``nn.Conv2d`` plus ``eps`` and
    ``convention``.  The per-filter statistics are computed in the weight's
    dtype, promoted to at least float32, whatever the autocast dtype; the
    convolution itself runs in the autocast dtype.  Any memory layout of
    weight and input works (:mod:`mmdet_eps_l2.ops.weight_standardization`
    has the autograd).

    Use it in mmdet configs as ``conv_cfg=dict(type='WSConv2d')`` together
    with ``norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: _size_2_t,
                 stride: _size_2_t = 1,
                 padding: Union[_size_2_t, str] = 0,
                 dilation: _size_2_t = 1,
                 groups: int = 1,
                 bias: bool = True,
                 padding_mode: str = 'zeros',
                 device=None,
                 dtype=None,
                 eps: float = 1e-5,
                 convention: str = 'mmcv') -> None:
        eps = check_non_negative(eps, 'WSConv2d eps')
        if convention not in CONVENTIONS:
            raise ValueError(f'WSConv2d convention must be one of '
                             f'{CONVENTIONS}, got {convention!r}')
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias,
            padding_mode=padding_mode,
            device=device,
            dtype=dtype)
        check_ws_weight_shape(self.weight.shape, 'WSConv2d')
        self.eps = eps
        self.convention = convention

    @property
    def ws_family(self) -> str:
        """How it standardizes (:mod:`mmdet_eps_l2.ops.ws_family`): eps
        outside the root (``'mmcv'``) is the exact family; eps inside it
        (``'timm'``) is scale-invariant only while σ² ≫ eps."""
        return EXACT if self.convention == 'mmcv' else VARIANCE_EPS

    @property
    def variance_eps(self) -> float:
        """The eps added to σ² inside the root (``'timm'`` only)."""
        return self.eps

    def standardized_weight(self) -> torch.Tensor:
        """The weight actually used by the convolution."""
        return standardize_weight(self.weight, self.eps, self.convention)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.standardized_weight(), self.bias)

    def extra_repr(self) -> str:
        s = super().extra_repr() + f', eps={self.eps}'
        if self.convention != 'mmcv':
            s += f', convention={self.convention!r}'
        return s
