"""``ResumeNotice``: one line when a resumed optimizer state carries other
ε-shift settings than the config's.

mmengine resumes an optimizer with ``load_state_dict``, which replaces every
parameter group's hyper-parameters (lr, weight decay, and the ε-shift's keys
of :mod:`mmdet_eps_l2.ops.param_groups`) by the checkpoint's.  The steps
then use the checkpoint's ε, λ and mode, as they use its lr: this package
follows that rule, and says so where the values differ from those the
config built.
"""
import logging
from typing import List, Optional, Tuple

import torch
from mmengine.logging import print_log

from ..ops import param_groups as keys
from ..ops.param_groups import shift_lambda

Settings = Optional[Tuple[float, float, str]]


#: a key that holds λ beside a ``weight_decay`` of 0 in some saved
#: optimizer states (groups whose optimizer does not add λ·w itself); read
#: back as the group's ``weight_decay``
LEGACY_LAMBDA = 'eps_l2_weight_decay'


def shift_settings(group: dict) -> Settings:
    """``(ε, λ, mode)`` of a parameter group, None without the shift; λ as
    a weight-decay schedule starts it (mmengine's schedulers keep that in
    ``initial_weight_decay``), so that a schedule's progress is no
    difference."""
    if not keys.is_shifted(group):
        return None
    lam = group.get('initial_weight_decay', shift_lambda(group))
    return group[keys.EPS], lam, group[keys.MODE]


def _describe(settings: Settings) -> str:
    if settings is None:
        return 'no eps-shift'
    eps, lam, mode = settings
    return f'eps={eps:g} lambda={lam:g} {mode}'


class ResumeNotice:
    """Optimizer ``load_state_dict`` pre- and post-hook (:meth:`register`):
    after loading, one warning naming the groups whose ``(ε, λ, mode)``
    differs from the built optimizer's, with the values the steps use."""

    def __init__(self) -> None:
        self._built: List[Settings] = []

    @classmethod
    def register(cls, optimizer: torch.optim.Optimizer) -> 'ResumeNotice':
        notice = cls()
        optimizer.register_load_state_dict_pre_hook(notice.before_load)
        optimizer.register_load_state_dict_post_hook(notice.after_load)
        return notice

    def before_load(self, optimizer, state_dict):
        """Record the built settings; a group saved with λ under
        ``eps_l2_weight_decay`` gets it back as its ``weight_decay``."""
        self._built = [shift_settings(g) for g in optimizer.param_groups]
        groups = state_dict.get('param_groups', [])
        if not any(LEGACY_LAMBDA in g for g in groups):
            return None
        state_dict = dict(state_dict, param_groups=[dict(g) for g in groups])
        for group in state_dict['param_groups']:
            if LEGACY_LAMBDA in group:
                group['weight_decay'] = group.pop(LEGACY_LAMBDA)
                if 'initial_weight_decay' in group:
                    group['initial_weight_decay'] = group['weight_decay']
        return state_dict

    def after_load(self, optimizer) -> None:
        loaded = [shift_settings(g) for g in optimizer.param_groups]
        changed = [(i, old, new) for i, (old, new) in
                   enumerate(zip(self._built, loaded)) if old != new]
        if not changed:
            return
        i, old, new = changed[0]
        more = f' (and {len(changed) - 1} more group(s))' \
            if len(changed) > 1 else ''
        print_log(
            f'resumed optimizer state: the steps use the checkpoint\'s '
            f'{_describe(new)} in parameter group {i}{more}, not the '
            f"config's {_describe(old)}. mmengine resumes every group's "
            'hyper-parameters from the checkpoint (lr and weight_decay as '
            "well); to train on with the config's values, load the weights "
            'without resuming (load_from=CHECKPOINT, resume=False)',
            logger='current', level=logging.WARNING)
