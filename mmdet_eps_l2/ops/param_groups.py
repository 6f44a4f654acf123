"""The parameter-group keys of the ε-shifted L2 regularizer, written once.

:class:`~mmdet_eps_l2.optim.EpsShiftedL2OptimWrapperConstructor` writes
them into a torch optimizer's ``param_groups`` (so they are saved in its
state dict and resumed), the step hook reads them, and so do the group
table and ``WeightStatsHook``:

* ``eps_l2_eps``: ε;
* ``eps_l2_mode``: ``'coupled'`` or ``'decoupled'``;
* ``eps_l2_fused``: True when the optimizer's own ``weight_decay`` has the
  mode's semantics and adds the ``λ·w`` part itself.

λ is always the group's own ``weight_decay``, the value mmengine's rules
and weight-decay schedulers set.  Where it is not fused, the step hook sets
``weight_decay`` to 0 for the optimizer's update, keeping λ under
``eps_l2_held_weight_decay``, and puts it back after the step.
"""
EPS = 'eps_l2_eps'
MODE = 'eps_l2_mode'
FUSED = 'eps_l2_fused'
#: λ of a non-fused group while its optimizer steps (weight_decay is 0 then)
HELD = 'eps_l2_held_weight_decay'


def shift_group_keys(eps: float, mode: str, fused: bool) -> dict:
    """The keys of a group whose weights get the shift."""
    return {EPS: eps, MODE: mode, FUSED: fused}


def is_shifted(group: dict) -> bool:
    """Whether a parameter group carries the ε-shift."""
    return EPS in group


def shift_lambda(group: dict) -> float:
    """The λ of a shifted group: its ``weight_decay`` (kept under
    ``eps_l2_held_weight_decay`` while a non-fused step runs)."""
    return group.get(HELD, group['weight_decay'])
