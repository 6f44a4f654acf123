"""The ε-shifted L2 regularizer (arXiv 1911.05920), functional and torch-only.

For a weight-standardized conv weight with output filters ``w_f``
(``n`` elements each, mean ``μ_f``, **unbiased** std ``σ_f``, no ε_ws):

    R(W)     = (λ/2) Σ_f ‖w_f - ε (w_f - μ_f) / σ_f‖²
             = (λ/2) Σ_f [(n - 1)(σ_f - ε)² + n μ_f²]
             = (λ/2) ‖W‖² - λ ε (n - 1) Σ_f σ_f + const

    ∂R/∂w_f  = λ [(1 - ε/σ_f)(w_f - μ_f) + μ_f]  =  λ w_f - λ ε ŵ_f,
               ŵ_f = (w_f - μ_f) / σ_f

ε = 0 gives exactly λ w (plain weight decay); the minimizer of R alone is
μ = 0, σ = ε.  A constant filter (σ = 0) has ŵ = 0.

The gradient is plain weight decay ``λ w`` plus the shift ``-λ ε ŵ``, whose
norm is ``λ ε √(n - 1)`` whatever σ is.  :func:`eps_shifted_l2_` adds the
shift, and the ``λ w`` part only when the optimizer does not add it itself
(``plain_decay``).  Per tensor it computes ŵ with one ``batch_norm`` (the
biased σ, rescaled by ``√((n - 1)/n)``) and adds it in place: four aten ops
with the two views (five with the plain part), nothing kept between steps,
one temporary the size of the weight.

Under ``torch.amp.GradScaler`` with an optimizer that unscales inside its
own kernel (``fused=True``), the gradients the term is added to are still
scaled: ``grad_scale`` multiplies the coupled term so that the kernel's
division gives back exactly the unscaled step, and ``found_inf`` (the
kernel then skips the step) keeps the decoupled form from moving the
weights.  Both are tensors and are read without a host synchronisation.
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from .weight_standardization import filter_mean_std

#: how the term is applied: added to the gradient before the optimizer's
#: update (``'coupled'``, like ``SGD(weight_decay=λ)``), or to the weight
#: (``'decoupled'``, like AdamW's decay)
MODES = ('coupled', 'decoupled')


def eps_shifted_l2_grad(weight: torch.Tensor, eps: float,
                        weight_decay: float) -> torch.Tensor:
    """``∂R/∂w = λ (w - ε ŵ)``, ŵ with unbiased σ (see module docstring);
    ŵ = 0 for a constant filter."""
    w = weight.detach()
    mean, std = filter_mean_std(w)
    w_hat = torch.where(std > 0, (w - mean) / std, torch.zeros_like(w))
    return (weight_decay * (w - eps * w_hat)).to(w.dtype)


def eps_shifted_l2_value(weight: torch.Tensor, eps: float,
                         weight_decay: float) -> torch.Tensor:
    """``R(W) = (λ/2) Σ_f [(n - 1)(σ_f - ε)² + n μ_f²]`` (σ unbiased)."""
    flat = weight.reshape(weight.shape[0], -1)
    n = flat.shape[1]
    std, mean = torch.std_mean(flat, dim=1)
    return 0.5 * weight_decay * ((n - 1) * (std - eps)**2 +
                                 n * mean**2).sum()


def eps_shifted_l2_(params: Sequence[torch.Tensor],
                    grads: Sequence[torch.Tensor],
                    *,
                    eps: float,
                    weight_decay: float,
                    plain_decay: Optional[float] = None,
                    mode: str = 'coupled',
                    lr: float = 0.,
                    grad_scale: Optional[torch.Tensor] = None,
                    found_inf: Optional[torch.Tensor] = None) -> None:
    """Apply the ε-shifted L2 term to ``params`` / ``grads``, in place.

    With ``t = plain_decay·w - weight_decay·ε·ŵ`` per filter:

    * ``mode='coupled'``: ``g ← g + s·t``, ``s = grad_scale`` (1 if None:
      the gradients are not scaled);
    * ``mode='decoupled'``: ``w ← w - lr·k·t``, ``k = 1`` where
      ``found_inf`` is 0 or None, else 0; ``grads`` unused.

    Args:
        params, grads: WS conv weights (filters along dim 0) and their
            gradients, same length.
        eps: ε ≥ 0.  weight_decay: λ of the shift.
        plain_decay: the λ of the ``λ·w`` part; default ``weight_decay``
            (the whole term); 0 when the optimizer adds ``λ·w`` itself.
        lr: the step of the decoupled form.
        grad_scale, found_inf: ``GradScaler``'s loss scale and inf flag
            (0-dim tensors) when the optimizer's kernel unscales and skips
            by itself (fused optimizers under AMP).
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    if len(params) != len(grads):
        raise ValueError(f'{len(params)} params but {len(grads)} grads')
    plain = weight_decay if plain_decay is None else plain_decay
    # target += s·(a·w + b·ŵ)
    if mode == 'coupled':
        a, b, s = plain, -weight_decay * eps, grad_scale
    else:
        a, b = -lr * plain, lr * weight_decay * eps
        # (a sum over devices: any non-zero value skips the step)
        s = None if found_inf is None else found_inf == 0
    if a == 0 and b == 0:
        return
    with torch.no_grad():
        for p, g in zip(params, grads):
            _add_term_(g if mode == 'coupled' else p, p, a, b, s)


def _standardized_biased(w: torch.Tensor) -> torch.Tensor:
    """``(w - μ) / σ_biased`` per filter (dim 0) in one ``batch_norm``
    (float32 at least); 0 for a constant filter (the root holds the
    smallest normal number of the dtype, so 0 / 0 cannot occur)."""
    stats = w if w.dtype in (torch.float32, torch.float64) else w.float()
    out = F.batch_norm(
        stats.reshape(1, w.shape[0], -1), None, None, training=True,
        momentum=0., eps=torch.finfo(stats.dtype).tiny)
    return out.view(w.shape)


def _add_term_(target: torch.Tensor, w: torch.Tensor, a: float, b: float,
               s: Optional[torch.Tensor]) -> None:
    """``target += s·(a·w + b·ŵ)`` in place, ŵ from ``w`` before the update
    (``s`` a 0-dim tensor, a 0-dim bool for 0 / 1, or None for 1).  ŵ (unbiased σ) is
    ``√((n - 1)/n)`` times the batch-normalized filter."""
    if b != 0:
        n = w.numel() // w.shape[0]
        w_hat = _standardized_biased(w)
        b *= ((n - 1) / n)**0.5
    if a != 0:
        if s is None:
            target.add_(w, alpha=a)
        else:
            target.addcmul_(w, s, value=a)
    if b != 0:
        if s is None:
            target.add_(w_hat, alpha=b)
        else:
            target.addcmul_(w_hat, s, value=b)
