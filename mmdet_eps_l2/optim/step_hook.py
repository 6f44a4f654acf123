"""``EpsShiftedL2StepHook``: the ε-shifted L2 regularizer in a torch
optimizer, as a step-pre-hook over the functional
:func:`~mmdet_eps_l2.ops.eps_shifted_l2_` (formula and conventions there).

The hook runs exactly once per ``optimizer.step()``: after gradient
clipping (which therefore clips the loss gradient only, like torch's own
``weight_decay``), once per accumulated step, and identically on every DDP
rank (gradients are already all-reduced).  Under ``GradScaler`` it sees
unscaled gradients, except with optimizers that unscale in their own
kernel (``fused=True``): there ``GradScaler`` sets ``optimizer.grad_scale``
and ``optimizer.found_inf`` for the step, and the hook scales its coupled
term by the former and holds the decoupled one back on the latter, so the
step equals the unscaled one and an inf step changes nothing.

It acts on the groups that carry the keys of
:mod:`mmdet_eps_l2.ops.param_groups`; λ is the group's own
``weight_decay``, so mmengine's per-parameter rules and weight-decay
schedulers set it in either mode:

* where the optimizer's own ``weight_decay`` has the group's semantics
  (coupled L2 for SGD / Adam / ...; decoupled for AdamW), the ``λ·w`` part
  is left to the optimizer's update (``eps_l2_fused=True``) and the hook
  adds only ``-λ ε ŵ``;
* otherwise the hook applies the whole term and sets the group's
  ``weight_decay`` to 0 for the optimizer's update; its step post-hook
  puts λ back.

It does tensor arithmetic on the step's own tensors and, in the second
case, sets a float in the group's dict, so ``torch.compile`` traces it with
the optimizer step (a tensor ``lr`` of the decoupled mode is read on the
host, a graph break).
"""
from typing import Callable, List, Optional

import torch

from ..ops import eps_shifted_l2_
from ..ops import param_groups as keys

#: optimizers whose ``weight_decay`` adds λ·w to the gradient (coupled L2),
#: unless ``decoupled_weight_decay=True``
COUPLED_DECAY_OPTIMIZERS = ('SGD', 'Adam', 'Adamax', 'Adagrad', 'RMSprop',
                            'NAdam', 'RAdam', 'ASGD')
#: optimizers whose ``weight_decay`` is decoupled: ``w ← w (1 - lr λ)``
DECOUPLED_DECAY_OPTIMIZERS = ('AdamW', )


def native_decay_mode(optimizer_type: str,
                      optimizer_cfg: dict) -> Optional[str]:
    """The semantics of a torch optimizer's ``weight_decay`` (``'coupled'``
    or ``'decoupled'``), or None when not known."""
    if optimizer_type in DECOUPLED_DECAY_OPTIMIZERS:
        return 'decoupled'
    if optimizer_type in COUPLED_DECAY_OPTIMIZERS:
        if optimizer_cfg.get('decoupled_weight_decay', False):
            return 'decoupled'
        return 'coupled'
    return None


class EpsShiftedL2StepHook:
    """Optimizer step hooks applying the ε-shifted L2 term.

    Call :meth:`register` on an optimizer.  The pre-hook (``__call__``)
    acts on the parameter groups that carry ``eps_l2_eps``; every other
    group is left untouched.  Parameters without a gradient are skipped, as
    torch optimizers skip them.  ``grad_readers`` are called with the
    optimizer before the hook adds to any gradient (``WeightStatsHook``
    reads the loss gradient there).
    """

    def __init__(self) -> None:
        self.grad_readers: List[Callable] = []

    @classmethod
    def register(cls, optimizer: torch.optim.Optimizer
                 ) -> 'EpsShiftedL2StepHook':
        """Register a new hook's step pre- and post-hook on ``optimizer``,
        and keep it as ``optimizer.eps_l2_step_hook``."""
        hook = cls()
        optimizer.register_step_pre_hook(hook)
        optimizer.register_step_post_hook(hook.restore_weight_decay)
        optimizer.eps_l2_step_hook = hook
        return hook

    def __call__(self, optimizer: torch.optim.Optimizer, args, kwargs):
        # args[0] is the optimizer itself, args[1] a positional closure
        if kwargs.get('closure') is not None or len(args) > 1:
            raise RuntimeError(
                'the eps-shifted L2 regularizer does not support optimizer '
                'closures: gradients are computed inside step(), after the '
                'regularizer would have been applied')
        for reader in self.grad_readers:
            reader(optimizer)
        # set by GradScaler for the step of an optimizer with
        # _step_supports_amp_scaling (fused); grad_scale is None after an
        # explicit unscale_()
        grad_scale = getattr(optimizer, 'grad_scale', None)
        found_inf = getattr(optimizer, 'found_inf', None)
        for group in optimizer.param_groups:
            if keys.EPS in group:
                apply_to_group(group, grad_scale, found_inf)

    @staticmethod
    def restore_weight_decay(optimizer: torch.optim.Optimizer, args,
                             kwargs) -> None:
        """The step post-hook: λ back into ``weight_decay`` of the groups
        the pre-hook set to 0."""
        for group in optimizer.param_groups:
            if keys.HELD in group:
                group['weight_decay'] = group.pop(keys.HELD)


def apply_to_group(group: dict,
                   grad_scale: Optional[torch.Tensor] = None,
                   found_inf: Optional[torch.Tensor] = None) -> None:
    """The ε-shift of one parameter group (see the module docstring)."""
    if keys.HELD in group:  # a step that raised before the post-hook
        group['weight_decay'] = group.pop(keys.HELD)
    eps = group[keys.EPS]
    fused = group[keys.FUSED]
    lam = group['weight_decay']
    if not fused:
        group[keys.HELD] = lam
        group['weight_decay'] = 0.
    if lam == 0 or (fused and eps == 0):
        return  # nothing beyond what the optimizer itself does
    params = [p for p in group['params'] if p.grad is not None]
    step = 0.
    if group[keys.MODE] == 'decoupled':
        step = float(group['lr'])
        if fused:
            # AdamW then does w ← w (1 - lr λ): pre-divide so the result
            # is exactly w - lr λ (w - ε ŵ(w)).
            shrink = 1.0 - step * lam
            if shrink <= 0:
                raise ValueError(
                    f'lr * weight_decay = {step * lam} >= 1 makes the '
                    'decoupled eps-shifted decay diverge')
            step = step / shrink
    eps_shifted_l2_(
        params, [p.grad for p in params],
        eps=eps,
        weight_decay=lam,
        plain_decay=0. if fused else lam,
        mode=group[keys.MODE],
        lr=step,
        grad_scale=grad_scale,
        found_inf=found_inf)
