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

To stay close to the cost of a plain step the λ·w part is, where the
optimizer's own ``weight_decay`` has the requested semantics (coupled L2 for
SGD / Adam / ...; decoupled for AdamW), left to the optimizer's batched
update (``eps_l2_fused=True``, λ = the group's ``weight_decay``); the hook
then only adds the ``-λ ε ŵ`` part.  Otherwise the group's ``weight_decay``
is 0 and the hook applies the whole term with λ = ``eps_l2_weight_decay``.

Parameter-group keys (saved in the optimizer state dict):
``eps_l2_eps`` (ε), ``eps_l2_mode`` ('coupled' | 'decoupled'),
``eps_l2_fused`` (bool), ``eps_l2_weight_decay`` (λ when not fused).
"""
import math
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F

MODES = ('coupled', 'decoupled')

#: optimizers whose ``weight_decay`` adds λ·w to the gradient (coupled L2)
COUPLED_DECAY_OPTIMIZERS = ('SGD', 'Adam', 'Adamax', 'Adagrad', 'RMSprop',
                            'NAdam', 'RAdam', 'ASGD')
#: optimizers whose ``weight_decay`` is decoupled: ``w ← w (1 - lr λ)``
DECOUPLED_DECAY_OPTIMIZERS = ('AdamW', )

# Filters whose variance is below this are treated as constant (ŵ = 0).
_TINY_VARIANCE = 1e-30


def native_decay_mode(optimizer_type: str, optimizer_cfg: dict) -> Optional[str]:
    """The semantics of ``weight_decay`` of a torch optimizer, if known."""
    if optimizer_type in DECOUPLED_DECAY_OPTIMIZERS:
        return 'decoupled'
    if optimizer_type in COUPLED_DECAY_OPTIMIZERS:
        if optimizer_cfg.get('decoupled_weight_decay', False):
            return 'decoupled'
        return 'coupled'
    return None


def standardized_unbiased(weight: torch.Tensor,
                          scale: float = 1.0) -> torch.Tensor:
    """``scale · (w_f - μ_f) / σ_f`` per output filter, σ unbiased, no ε.

    One fused ``batch_norm`` reduction (biased variance) whose affine weight
    carries ``scale · sqrt((n - 1) / n)``, turning the biased σ into the
    unbiased one.  Constant filters give 0.
    """
    n = weight[0].numel()
    stats_dtype = torch.float64 if weight.dtype == torch.float64 \
        else torch.float32
    w = weight.detach().to(stats_dtype).reshape(1, weight.shape[0], n)
    gain = torch.full((weight.shape[0], ),
                      scale * math.sqrt((n - 1) / n),
                      dtype=stats_dtype,
                      device=weight.device)
    out = F.batch_norm(
        w, None, None, gain, None, training=True, momentum=0.,
        eps=_TINY_VARIANCE)
    return out.reshape(weight.shape).to(weight.dtype)


def eps_shifted_l2_grad(weight: torch.Tensor, eps: float,
                        weight_decay: float) -> torch.Tensor:
    """``∂R/∂w = λ (w - ε ŵ)``, ŵ with unbiased σ (see module docstring)."""
    grad = standardized_unbiased(weight, -weight_decay * eps)
    return grad.add_(weight.detach(), alpha=weight_decay)


def eps_shifted_l2_value(weight: torch.Tensor, eps: float,
                         weight_decay: float) -> torch.Tensor:
    """``R(W) = (λ/2) Σ_f [(n - 1)(σ_f - ε)² + n μ_f²]`` (σ unbiased)."""
    flat = weight.reshape(weight.shape[0], -1)
    n = flat.shape[1]
    std, mean = torch.std_mean(flat, dim=1)
    return 0.5 * weight_decay * ((n - 1) * (std - eps)**2 +
                                 n * mean**2).sum()


def _grouped_by_device_and_dtype(
        tensors: List[torch.Tensor]) -> Dict[Tuple, List[int]]:
    buckets: Dict[Tuple, List[int]] = {}
    for i, t in enumerate(tensors):
        buckets.setdefault((t.device, t.dtype), []).append(i)
    return buckets


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
        lam = group['weight_decay'] if fused else group['eps_l2_weight_decay']
        if lam == 0 or (fused and eps == 0):
            return  # nothing beyond what the optimizer itself does
        params = [p for p in group['params'] if p.grad is not None]
        if not params:
            return
        if coupled:
            # grad += λ w - λ ε ŵ   (λ w left to the optimizer when fused)
            grads = [p.grad for p in params]
            shifts = [standardized_unbiased(p, -lam * eps) for p in params]
            for idx in _grouped_by_device_and_dtype(grads).values():
                g = [grads[i] for i in idx]
                torch._foreach_add_(g, [shifts[i] for i in idx])
                if not fused:
                    torch._foreach_add_(g, [params[i] for i in idx],
                                        alpha=lam)
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
            scale = lr * lam * eps / shrink
        else:
            scale = lr * lam * eps
        shifts = [standardized_unbiased(p, scale) for p in params]
        for idx in _grouped_by_device_and_dtype(params).values():
            ps = [params[i] for i in idx]
            if not fused:
                torch._foreach_mul_(ps, 1.0 - lr * lam)
            torch._foreach_add_(ps, [shifts[i] for i in idx])
