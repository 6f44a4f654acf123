"""The parameter-group keys of the ε-shifted L2 regularizer, written once.

:class:`~mmdet_eps_l2.optim.EpsShiftedL2OptimWrapperConstructor` writes
them into a torch optimizer's ``param_groups`` (so they are saved in its
state dict and resumed), the step hook reads them, and so do the group
table and ``WeightStatsHook``:

* ``eps_l2_eps``: ε;
* ``eps_l2_mode``: ``'coupled'`` or ``'decoupled'``;
* ``eps_l2_fused``: True when the optimizer's own ``weight_decay`` (λ) has
  the mode's semantics and adds the ``λ·w`` part itself;
* ``eps_l2_weight_decay``: λ of the shift when not fused (the group's
  ``weight_decay`` is then 0).
"""
EPS = 'eps_l2_eps'
MODE = 'eps_l2_mode'
FUSED = 'eps_l2_fused'
WEIGHT_DECAY = 'eps_l2_weight_decay'


def shift_group_keys(eps: float, mode: str, fused: bool,
                     lam: float) -> dict:
    """The keys of a group whose weights get the shift of strength λ."""
    keys = {EPS: eps, MODE: mode, FUSED: fused}
    if fused:
        keys['weight_decay'] = lam
    else:
        keys['weight_decay'] = 0.
        keys[WEIGHT_DECAY] = lam
    return keys


def is_shifted(group: dict) -> bool:
    """Whether a parameter group carries the ε-shift."""
    return EPS in group


def shift_lambda(group: dict) -> float:
    """The λ of a shifted group: its ``weight_decay`` when fused, else
    ``eps_l2_weight_decay``."""
    return group['weight_decay'] if group[FUSED] else group[WEIGHT_DECAY]
