"""The ε-shifted L2 regularizer (arXiv 1911.05920) and its batched step hook.

For a weight-standardized conv weight with output filters ``w_f``
(``n`` elements each, mean ``μ_f``, **unbiased** std ``σ_f``, no ε_ws):

    R(W)     = (λ/2) Σ_f ‖w_f - ε (w_f - μ_f) / σ_f‖²
             = (λ/2) Σ_f [(n - 1)(σ_f - ε)² + n μ_f²]

    ∂R/∂w_f  = λ [(1 - ε/σ_f)(w_f - μ_f) + μ_f]  =  λ (w_f - ε ŵ_f),
               ŵ_f = (w_f - μ_f) / σ_f

ε = 0 gives exactly λ w (plain weight decay); the minimizer of R alone is
μ = 0, σ = ε.  Two ways of applying it:

* ``'coupled'`` (the reference, like ``torch.optim.SGD(weight_decay=λ)``):
  ``∂R/∂w`` is added to the gradient before the optimizer's update, so it
  goes through momentum / adaptive scaling;
* ``'decoupled'`` (like AdamW's decay): ``w ← w - lr · ∂R/∂w`` before the
  optimizer's update on the loss gradient alone.

The shift is applied by :class:`EpsShiftedL2StepHook`, an optimizer
step-pre-hook, so it runs exactly once per ``optimizer.step()``: after
``GradScaler`` has unscaled the gradients (AMP), after gradient clipping
(which therefore clips the loss gradient only, like torch's own
``weight_decay``), once per accumulated step, and identically on every
DDP rank (gradients are already all-reduced).

To stay close to the cost of a plain step:

* per filter the term is written ``α·w + β`` (α = λ - λε/σ, β = λεμ/σ),
  whose coefficients need only two read-only reductions of ``w`` (Σw, Σw²,
  accumulated in float64); it is then added with two in-place passes, and
  no weight-sized temporary is allocated;
* where the optimizer's own ``weight_decay`` has the requested semantics
  (coupled L2 for SGD / Adam / ...; decoupled for AdamW) the λ·w part is
  left to the optimizer's update (``eps_l2_fused=True``, λ = the group's
  ``weight_decay``, so weight-decay schedulers act on the whole term) and
  the hook adds only ``-λ ε ŵ``.  Otherwise the group's ``weight_decay``
  is 0 and the hook applies the whole term with λ =
  ``eps_l2_weight_decay``.

Parameter-group keys (saved in the optimizer state dict):
``eps_l2_eps`` (ε), ``eps_l2_mode`` ('coupled' | 'decoupled'),
``eps_l2_fused`` (bool), ``eps_l2_weight_decay`` (λ when not fused).
"""
from typing import Optional, Tuple

import torch

from ..ops import filter_mean_std

MODES = ('coupled', 'decoupled')

#: optimizers whose ``weight_decay`` adds λ·w to the gradient (coupled L2)
COUPLED_DECAY_OPTIMIZERS = ('SGD', 'Adam', 'Adamax', 'Adagrad', 'RMSprop',
                            'NAdam', 'RAdam', 'ASGD')
#: optimizers whose ``weight_decay`` is decoupled: ``w ← w (1 - lr λ)``
DECOUPLED_DECAY_OPTIMIZERS = ('AdamW', )


def native_decay_mode(optimizer_type: str, optimizer_cfg: dict) -> Optional[str]:
    """The semantics of ``weight_decay`` of a torch optimizer, if known."""
    if optimizer_type in DECOUPLED_DECAY_OPTIMIZERS:
        return 'decoupled'
    if optimizer_type in COUPLED_DECAY_OPTIMIZERS:
        if optimizer_cfg.get('decoupled_weight_decay', False):
            return 'decoupled'
        return 'coupled'
    return None


def shift_lambda(group: dict) -> float:
    """The λ of the shift of an ε-shifted parameter group: the group's
    ``weight_decay`` when fused, else ``eps_l2_weight_decay``."""
    return group['weight_decay'] if group['eps_l2_fused'] \
        else group['eps_l2_weight_decay']


def shift_coefficients(weight: torch.Tensor, eps: float, lam_eps: float,
                       lam_plain: float = 0.) -> Tuple[torch.Tensor,
                                                       torch.Tensor]:
    """Per-filter ``(α, β)`` with ``α·w + β = lam_plain·w - lam_eps·ε·ŵ``.

    ``ŵ = (w - μ) / σ`` (σ unbiased, no ε_ws), so
    ``α = lam_plain - lam_eps·ε/σ`` and ``β = lam_eps·ε·μ/σ``, both of shape
    ``(C_out, 1, ..., 1)`` in float64 (float32 for non-float64 weights is
    not needed: only two read-only reductions touch the weight).  A constant
    filter (σ = 0) has ŵ = 0.
    """
    mean, sigma = filter_mean_std(weight.detach())
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


class EpsShiftedL2StepHook:
    """Optimizer step-pre-hook applying the ε-shifted L2 term.

    Acts on the parameter groups that carry ``eps_l2_eps`` (see the module
    docstring); every other group is left untouched.  Parameters without a
    gradient are skipped, as torch optimizers skip them.
    """

    def __call__(self, optimizer: torch.optim.Optimizer, args, kwargs):
        # args[0] is the optimizer itself, args[1] a positional closure
        closure = kwargs.get('closure', args[1] if len(args) > 1 else None)
        if closure is not None:
            raise RuntimeError(
                'the eps-shifted L2 regularizer does not support optimizer '
                'closures: gradients are computed inside step(), after the '
                'regularizer would have been applied')
        with torch.no_grad():
            for group in optimizer.param_groups:
                if 'eps_l2_eps' in group:
                    self.apply_to_group(group)

    @staticmethod
    def apply_to_group(group: dict) -> None:
        eps = group['eps_l2_eps']
        fused = group['eps_l2_fused']
        coupled = group['eps_l2_mode'] == 'coupled'
        lam = shift_lambda(group)
        if lam == 0 or (fused and eps == 0):
            return  # nothing beyond what the optimizer itself does
        # the λ·w part is the optimizer's own weight decay when fused
        lam_plain = 0. if fused else lam
        if coupled:
            # grad += α·w + β  =  λ_plain·w - λ ε ŵ: two in-place passes
            for p in group['params']:
                if p.grad is None:
                    continue
                alpha, beta = shift_coefficients(p, eps, lam, lam_plain)
                p.grad.addcmul_(p, alpha.to(p.grad.dtype))
                p.grad.add_(beta.to(p.grad.dtype))
            return
        lr = group['lr']
        lr = lr.item() if torch.is_tensor(lr) else lr
        if fused:
            # AdamW then does w ← w (1 - lr λ): pre-divide so the result is
            # exactly w - lr λ (w - ε ŵ(w)).
            shrink = 1.0 - lr * lam
            if shrink <= 0:
                raise ValueError(
                    f'lr * weight_decay = {lr * lam} >= 1 makes the decoupled '
                    'eps-shifted decay diverge')
            step = lr / shrink
        else:
            step = lr
        for p in group['params']:
            if p.grad is None:
                continue
            # w ← w - step (α·w + β) = (1 - step α)·w - step β
            alpha, beta = shift_coefficients(p, eps, lam, lam_plain)
            p.mul_((1.0 - step * alpha).to(p.dtype))
            p.sub_((step * beta).to(p.dtype))
