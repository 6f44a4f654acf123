"""Per-filter weight standardization with an analytic, layout-agnostic
autograd.

For a conv weight ``W`` of shape ``(C_out, C_in / groups, kh, kw)`` every
output filter ``w_f`` (``n = C_in / groups * kh * kw`` elements) becomes

    ŵ_f = (w_f - μ_f) / (σ_f + eps)                      ('mmcv', default)

with ``μ_f`` the filter mean, ``σ_f`` the **unbiased** (n - 1) standard
deviation and ``eps`` added to σ outside the square root.  This is the
convention of mmcv's ``ConvWS2d`` (``conv_ws_2d``) and of the published GN+WS
ImageNet checkpoints (``open-mmlab://jhu/resnet50_gn_ws`` ...).

The alternative ``'timm'`` convention (timm's ``StdConv2d``) uses the biased
(n) variance with eps inside the root:

    ŵ_f = (w_f - μ_f) / sqrt(σ_f,biased² + eps)           ('timm')

Implementation ('mmcv' convention), written for few kernel launches:

* forward: one ``std_mean`` (both statistics in one reduction), then
  ``inv = 1 / (σ + eps)`` and ``ŵ = (w - μ) · inv``: five aten ops;
* backward is analytic, with ``g = ∂L/∂ŵ``:

      ∂L/∂w_f = inv · (g - mean(g)) - ŵ · Σ(g ŵ) / ((n - 1) σ)

  from the saved ŵ (the tensor the convolution saves anyway), σ and inv:
  eight aten ops.  A constant filter (σ = 0, ŵ = 0) gets ``inv · (g -
  mean(g))``.
* every op is element-wise or a reduction over dims (1, 2, 3), so any
  memory layout (channels_last included) works and is kept;
* statistics are computed in the weight's dtype when it is float32 or
  float64; half / bfloat16 weights are promoted to float32, so tiny weights
  neither underflow nor overflow, and the result is returned in the
  weight's dtype.  Under autocast the weight stays float32 here and only
  the convolution runs in the autocast dtype.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

#: the standardization conventions understood by :func:`standardize_weight`.
CONVENTIONS: Tuple[str, ...] = ('mmcv', 'timm')


def _stats_input(w: torch.Tensor) -> torch.Tensor:
    """``w`` itself when float32 / float64, else a float32 copy."""
    if w.dtype in (torch.float32, torch.float64):
        return w
    return w.float()


def _filter_dims(w: torch.Tensor) -> Tuple[int, ...]:
    return tuple(range(1, w.dim()))


def filter_mean_std(w: torch.Tensor):
    """Per-filter mean and **unbiased** std of ``w`` (filters along dim 0),
    keepdim shape ``(C_out, 1, ..., 1)``, in ``w``'s dtype if float32 or
    float64, else float32; one ``std_mean`` reduction."""
    std, mean = torch.std_mean(
        _stats_input(w), dim=_filter_dims(w), keepdim=True)
    return mean, std


class _StandardizeUnbiased(torch.autograd.Function):
    """ŵ = (w - μ) / (σ_unbiased + eps), per output filter (dim 0)."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, eps: float) -> torch.Tensor:
        w = _stats_input(weight)
        std, mean = torch.std_mean(w, dim=_filter_dims(w), keepdim=True)
        inv = (std + eps).reciprocal_()
        w_hat = (w - mean).mul_(inv)
        ctx.save_for_backward(w_hat, std, inv)
        return w_hat if w is weight else w_hat.to(weight.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        w_hat, std, inv = ctx.saved_tensors
        dims = _filter_dims(w_hat)
        n = w_hat.numel() // w_hat.shape[0]
        g = grad_out if grad_out.dtype == w_hat.dtype \
            else grad_out.to(w_hat.dtype)
        g_mean = g.mean(dim=dims, keepdim=True)
        # Σ(g ŵ) / σ; a constant filter has ŵ = 0, so Σ(g ŵ) = 0 there and
        # the clamp only keeps 0 / 0 out
        coeff = (g * w_hat).sum(dim=dims, keepdim=True).div_(
            std.clamp_min(torch.finfo(std.dtype).tiny))
        grad_w = (g - g_mean).mul_(inv).addcmul_(
            w_hat, coeff, value=-1.0 / (n - 1))
        if grad_w.dtype != grad_out.dtype:
            grad_w = grad_w.to(grad_out.dtype)
        return grad_w, None


def _standardize_biased(weight: torch.Tensor, eps: float) -> torch.Tensor:
    """ŵ = (w - μ) / sqrt(σ_biased² + eps) with one fused batch_norm."""
    w = _stats_input(weight)
    out = F.batch_norm(
        w.reshape(1, w.shape[0], -1),
        None,
        None,
        training=True,
        momentum=0.,
        eps=eps)
    return out.reshape_as(w).to(weight.dtype)


def check_ws_weight_shape(weight_shape, where: str = 'weight') -> None:
    """Refuse shapes whose filters have a single element (std undefined)."""
    if len(weight_shape) < 2:
        raise ValueError(f'{where}: weight standardization needs a weight '
                         f'with an output-filter dimension, got shape '
                         f'{tuple(weight_shape)}')
    numel = 1
    for size in weight_shape[1:]:
        numel *= int(size)
    if numel < 2:
        raise ValueError(
            f'{where}: each filter has {numel} element(s) '
            f'(weight shape {tuple(weight_shape)}); the standard deviation '
            'of a single-element filter is undefined, so weight '
            'standardization cannot be applied (use a plain Conv2d here)')


def check_non_negative(value, name: str = 'eps') -> float:
    """Return ``value`` as a float, or raise naming ``name`` if it is not a
    finite number >= 0 (ε of WS and of the shift, the shift's λ)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f'{name} must be a non-negative number, got '
                        f'{value!r} ({type(value).__name__})')
    value = float(value)
    if not value >= 0 or value == float('inf'):
        raise ValueError(f'{name} must be a finite number >= 0, got {value}')
    return value


def standardize_weight(weight: torch.Tensor,
                       eps: float = 1e-5,
                       convention: str = 'mmcv') -> torch.Tensor:
    """Standardize every output filter (dim 0) of a conv weight.

    Args:
        weight: tensor of shape ``(C_out, C_in / groups, kh, kw)``, any
            memory layout.
        eps: the ε of the convention (added to σ for ``'mmcv'``, to σ²
            inside the root for ``'timm'``).
        convention: ``'mmcv'`` (unbiased σ, ``(w - μ) / (σ + eps)``;
            mmcv ``ConvWS2d`` and the published GN+WS checkpoints) or
            ``'timm'`` (biased σ, ``(w - μ) / sqrt(σ² + eps)``).
    """
    if convention == 'mmcv':
        return _StandardizeUnbiased.apply(weight, eps)
    if convention == 'timm':
        return _standardize_biased(weight, eps)
    raise ValueError(f'unknown weight-standardization convention '
                     f'{convention!r}; expected one of {CONVENTIONS}')
