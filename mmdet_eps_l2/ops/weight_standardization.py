"""Per-filter weight standardization with a fused, layout-agnostic autograd.

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

Implementation notes ('mmcv' convention):

* forward: two reductions (Σw, Σw², accumulated in float64, each over a
  float64 copy of a float32 weight, freed at once: :func:`filter_mean_std`)
  and one ``addcmul`` writing ŵ, instead of the separate mean, std,
  subtraction and division of ``conv_ws_2d``;
* backward is analytic, with ``d = σ + eps`` and ``g = ∂L/∂ŵ``:

      ∂L/∂w_f = g / d - mean(g) / d - ŵ · Σ(g ŵ) / ((n - 1) σ)

  computed as ``g/d + a·w + b`` (per-filter a, b) from two reductions and
  two element-wise passes; ŵ is not kept for backward;
* reductions run over dims (1, 2, 3) of the 4-D tensor, so any memory layout
  (channels_last included) works without a copy;
* statistics are always computed in float32 or float64: half / bfloat16
  weights are promoted, so tiny weights neither underflow nor overflow;
  the result is returned in the weight's dtype.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

#: the standardization conventions understood by :func:`standardize_weight`.
CONVENTIONS: Tuple[str, ...] = ('mmcv', 'timm')

_FILTER_DIMS = (1, 2, 3)


def _stats_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def filter_mean_std(w: torch.Tensor):
    """Per-filter mean and **unbiased** std, float64, shape (C_out, 1, 1, 1).

    From two reductions over ``w`` (Σw and Σw²) that leave ``w`` as it is.
    For a ``w`` that is not float64, torch converts it to float64 for each
    of them: one temporary of ``w``'s element count in float64 at a time,
    freed when the reduction ends.  Float64 accumulation keeps
    ``Σw² - (Σw)²/n`` exact enough even for filters whose mean is large
    against their spread.
    """
    total = w.sum(dim=_FILTER_DIMS, keepdim=True, dtype=torch.float64)
    norm = torch.linalg.vector_norm(
        w, dim=_FILTER_DIMS, keepdim=True, dtype=torch.float64)
    return mean_std_from_sums(total, norm * norm, w[0].numel())


def mean_std_from_sums(total: torch.Tensor, sum_sq: torch.Tensor, n):
    """Mean and **unbiased** std of filters of ``n`` elements from their
    Σw and Σw² (float64): ``μ = Σw/n``, ``σ² = (Σw² - Σw·μ)/(n - 1)``,
    clamped at 0 against rounding.  ``n`` may be a tensor (one per filter).
    """
    mean = total / n
    std = ((sum_sq - total * mean).clamp_min(0) / (n - 1)).sqrt()
    return mean, std


def _filter_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-filter ``Σ a·b`` (keepdim shape, float64 result): one batched
    matrix product in the tensors' dtype, with no full-size temporary when
    both are contiguous; other layouts are copied to that order first, so
    every layout gives the same result."""
    o = a.shape[0]
    dot = torch.bmm(a.reshape(o, 1, -1), b.reshape(o, -1, 1))
    return dot.view(o, 1, 1, 1).to(torch.float64)


class _StandardizeUnbiased(torch.autograd.Function):
    """ŵ = (w - μ) / (σ_unbiased + eps), per output filter (dim 0)."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, eps: float) -> torch.Tensor:
        w = weight.to(_stats_dtype(weight.dtype))
        mean, std = filter_mean_std(w)
        inv = 1.0 / (std + eps)
        # (w - μ) * inv  ==  w * inv + (-μ * inv): one full-size pass.
        out = torch.addcmul((-mean * inv).to(w.dtype), w, inv.to(w.dtype))
        ctx.save_for_backward(w, mean, std, inv)
        return out.to(weight.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        w, mean, std, inv = ctx.saved_tensors
        n = w[0].numel()
        g = grad_out.to(w.dtype)
        g_sum = g.sum(dim=_FILTER_DIMS, keepdim=True, dtype=torch.float64)
        g_dot_w = _filter_dot(g, w)
        g_dot_out = inv * (g_dot_w - mean * g_sum)  # Σ g ŵ
        # A constant filter (σ = 0) has ŵ = 0, hence Σ g ŵ = 0: keep it 0.
        coeff = g_dot_out / ((n - 1) * std.clamp_min(1e-300))
        # ∂L/∂w = inv·g - inv·mean(g) - ŵ·coeff
        #       = inv·g + a·w + b,   a = -coeff·inv,  b = coeff·inv·μ - inv·ḡ
        a = -coeff * inv
        b = coeff * inv * mean - inv * g_sum / n
        grad_w = torch.addcmul(b.to(w.dtype), g, inv.to(w.dtype))
        grad_w.addcmul_(w, a.to(w.dtype))
        return grad_w.to(grad_out.dtype), None


def _standardize_biased(weight: torch.Tensor, eps: float) -> torch.Tensor:
    """ŵ = (w - μ) / sqrt(σ_biased² + eps) with one fused batch_norm."""
    w = weight.to(_stats_dtype(weight.dtype))
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
