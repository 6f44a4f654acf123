"""The ε-shifted L2 regularizer (arXiv 1911.05920), functional and torch-only.

For a weight-standardized conv weight with output filters ``w_f``
(``n`` elements each, mean ``μ_f``, **unbiased** std ``σ_f``, no ε_ws):

    R(W)     = (λ/2) Σ_f ‖w_f - ε (w_f - μ_f) / σ_f‖²
             = (λ/2) Σ_f [(n - 1)(σ_f - ε)² + n μ_f²]

    ∂R/∂w_f  = λ [(1 - ε/σ_f)(w_f - μ_f) + μ_f]  =  λ (w_f - ε ŵ_f),
               ŵ_f = (w_f - μ_f) / σ_f

ε = 0 gives exactly λ w (plain weight decay); the minimizer of R alone is
μ = 0, σ = ε.  A constant filter (σ = 0) has ŵ = 0.

Per filter the term is written ``α·w + β`` with ``α = λ_plain - λ ε/σ`` and
``β = λ ε μ/σ`` (λ_plain = λ for the whole term, 0 when an optimizer's own
``weight_decay`` already adds ``λ·w``): the coefficients need only two
reductions of ``w`` (Σw, Σw², accumulated in float64), and the term is
added in place.

:func:`eps_shifted_l2_` applies it to a list of tensors, like
``torch.optim``'s functional optimizers, on one of two paths that give the
same result up to float64 summation order (tested):

* per tensor (the default, on every device): per weight, the two
  reductions of :func:`filter_mean_std` and two in-place passes; nothing
  is kept between steps, and the largest temporary is the float64 copy of
  one weight that each reduction makes;
* batched (``foreach=True``): all tensors of one device and dtype laid end
  to end, a fixed number of kernels whatever the number of tensors; it
  makes several temporaries the size of all those weights together (their
  concatenation, its float64 copy and square, a per-element filter index,
  the term), so it trades memory for fewer kernel launches.  It is chosen
  in this functional API or with ``EpsShiftedL2StepHook(foreach=True)``;
  the constructor registers the default hook.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from .weight_standardization import filter_mean_std, mean_std_from_sums

#: how the term is applied: added to the gradient before the optimizer's
#: update (``'coupled'``, like ``SGD(weight_decay=λ)``), or to the weight
#: (``'decoupled'``, like AdamW's decay)
MODES = ('coupled', 'decoupled')


def shift_coefficients(weight: torch.Tensor, eps: float, lam_eps: float,
                       lam_plain: float = 0.) -> Tuple[torch.Tensor,
                                                       torch.Tensor]:
    """Per-filter ``(α, β)`` such that ``α·w + β = lam_plain·w - lam_eps·ε·ŵ``.

    With ``ŵ = (w - μ) / σ`` (σ unbiased, no ε_ws):
    ``α = lam_plain - lam_eps·ε/σ`` and ``β = lam_eps·ε·μ/σ``, both float64
    of shape ``(C_out, 1, ..., 1)``, from two read-only reductions of ``w``
    (:func:`filter_mean_std`).  A constant filter (σ = 0) has ŵ = 0, so
    α = lam_plain and β = 0 there.
    """
    mean, sigma = filter_mean_std(weight.detach())
    return _alpha_beta(mean, sigma, eps, lam_eps, lam_plain)


def _alpha_beta(mean, sigma, eps, lam_eps, lam_plain):
    inv_sigma = torch.where(sigma > 0, 1.0 / sigma, torch.zeros_like(sigma))
    alpha = lam_plain - (lam_eps * eps) * inv_sigma
    beta = (lam_eps * eps) * mean * inv_sigma
    return alpha, beta


def eps_shifted_l2_grad(weight: torch.Tensor, eps: float,
                        weight_decay: float) -> torch.Tensor:
    """``∂R/∂w = λ (w - ε ŵ)``, ŵ with unbiased σ (see module docstring)."""
    alpha, beta = shift_coefficients(weight, eps, weight_decay, weight_decay)
    w = weight.detach()
    return torch.addcmul(beta.to(w.dtype), w, alpha.to(w.dtype))


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
                    foreach: Optional[bool] = None) -> None:
    """Apply the ε-shifted L2 term to ``params`` / ``grads``, in place.

    With ``α·w + β = plain_decay·w - weight_decay·ε·ŵ`` per filter:

    * ``mode='coupled'``: ``g ← g + α·w + β`` for each pair;
    * ``mode='decoupled'``: ``w ← w - lr·(α·w + β)`` (``grads`` unused).

    Args:
        params, grads: WS conv weights (filters along dim 0) and their
            gradients, same length.
        eps: ε ≥ 0.  weight_decay: λ of the shift.
        plain_decay: the λ of the ``λ·w`` part; default ``weight_decay``
            (the whole term); 0 when the optimizer adds ``λ·w`` itself.
        lr: the step of the decoupled form.
        foreach: the batched path (True) or per tensor (False or None,
            the default); the module docstring says what each holds.
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    if len(params) != len(grads):
        raise ValueError(f'{len(params)} params but {len(grads)} grads')
    if not params:
        return
    plain = weight_decay if plain_decay is None else plain_decay
    impl = _multi_tensor_eps_shifted_l2_ if foreach \
        else _single_tensor_eps_shifted_l2_
    with torch.no_grad():
        impl(list(params), list(grads), eps, weight_decay, plain, mode, lr)


def _single_tensor_eps_shifted_l2_(params, grads, eps, lam, plain, mode,
                                   lr) -> None:
    for p, g in zip(params, grads):
        alpha, beta = shift_coefficients(p, eps, lam, plain)
        if mode == 'coupled':
            # g += α·w + β: two in-place passes
            g.addcmul_(p, alpha.to(g.dtype))
            g.add_(beta.to(g.dtype))
        else:
            # w ← w - lr (α·w + β) = (1 - lr α)·w - lr β
            p.mul_((1.0 - lr * alpha).to(p.dtype))
            p.sub_((lr * beta).to(p.dtype))


def _filter_index(shapes: Sequence[torch.Size], device: torch.device
                  ) -> Tuple[torch.Tensor, Tuple[int, ...], torch.Tensor]:
    """For tensors of ``shapes`` laid end to end: the filter of each
    element, the element count of each tensor and the element count of
    each filter (float64).  Made at each call, so nothing per element
    outlives the step."""
    sizes = [n for s in shapes for n in [s.numel() // s[0]] * s[0]]
    per_filter = torch.tensor(sizes, device=device)
    index = torch.repeat_interleave(
        torch.arange(len(sizes), device=device), per_filter)
    return (index, tuple(s.numel() for s in shapes),
            per_filter.to(torch.float64))


def _bucket(params, grads) -> Dict[Tuple, List[int]]:
    buckets: Dict[Tuple, List[int]] = {}
    for i, p in enumerate(params):
        buckets.setdefault((p.device, p.dtype, grads[i].dtype), []).append(i)
    return buckets


def _multi_tensor_eps_shifted_l2_(params, grads, eps, lam, plain, mode,
                                  lr) -> None:
    """All tensors of one device and dtype at once: the weights laid end to
    end, per-filter Σw and Σw² by one ``index_add_`` each (float64), α and
    β per filter, one ``addcmul`` for every element, one ``_foreach_``
    update; a fixed number of kernels whatever the number of tensors."""
    for indices in _bucket(params, grads).values():
        ps = [params[i] for i in indices]
        gs = [grads[i] for i in indices]
        index, numels, n = _filter_index([p.shape for p in ps], ps[0].device)
        flat = torch.cat([p.reshape(-1) for p in ps])
        flat64 = flat.to(torch.float64)
        total = torch.zeros_like(n).index_add_(0, index, flat64)
        sq = torch.zeros_like(n).index_add_(0, index, flat64 * flat64)
        mean, sigma = mean_std_from_sums(total, sq, n)
        alpha, beta = _alpha_beta(mean, sigma, eps, lam, plain)
        term = torch.addcmul(beta.to(flat.dtype)[index], flat,
                             alpha.to(flat.dtype)[index])
        parts = [t.view(p.shape) for t, p in zip(term.split(numels), ps)]
        if mode == 'coupled':
            torch._foreach_add_(gs, [t.to(g.dtype) for t, g in zip(parts, gs)])
        else:
            torch._foreach_add_(ps, parts, alpha=-lr)
