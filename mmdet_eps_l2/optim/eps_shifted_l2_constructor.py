"""``EpsShiftedL2OptimWrapperConstructor``: the ε-shifted L2 regularizer for
the weights of weight-standardized convs, stock rules for everything else."""
import logging
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
from mmengine.dist import get_rank
from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS

from ..ops import MODES, check_non_negative
from ..ops import param_groups as keys
from ..ops.param_groups import is_shifted, shift_group_keys, shift_lambda
from ..ops.ws_family import eps_shift_weights
from .step_hook import EpsShiftedL2StepHook, native_decay_mode

EPS_L2_KEYS = ('eps', 'weight_decay', 'mode', 'allow_no_ws_conv')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class EpsShiftedL2OptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Optimizer-wrapper constructor with the ε-shifted L2 regularizer.

    Every weight of a weight-standardized conv (``WSConv2d``, mmcv
    ``ConvWS2d``) whose filters have more than one input channel gets, per
    output filter ``w_f`` (mean ``μ_f``, unbiased std ``σ_f``),

        ∂R/∂w_f = λ [(1 - ε/σ_f)(w_f - μ_f) + μ_f]

    instead of plain weight decay, applied once per optimizer step (see
    :mod:`mmdet_eps_l2.optim.step_hook`).  ε = 0 is plain weight decay.

    Config::

        optim_wrapper = dict(
            type='OptimWrapper',
            constructor='EpsShiftedL2OptimWrapperConstructor',
            optimizer=dict(type='SGD', lr=0.02, momentum=0.9,
                           weight_decay=1e-4),
            paramwise_cfg=dict(
                eps_l2=dict(
                    eps=1e-3,             # ε, required, >= 0
                    weight_decay=1e-4,    # λ; default: optimizer's
                    mode='coupled',       # or 'decoupled'; default: the
                                          # optimizer's own semantics
                    allow_no_ws_conv=False),  # True: no WS conv is fine
                # any DefaultOptimWrapperConstructor option
            ))

    Rules:

    * Parameters other than the ε-shifted weights get exactly the lr and
      weight decay of ``DefaultOptimWrapperConstructor`` with the same
      ``paramwise_cfg`` (``custom_keys``, ``bias_decay_mult``,
      ``norm_decay_mult``, ``dwconv_decay_mult``, ``flat_decay_mult``,
      ``bypass_duplicate`` ...).
    * ε-shifted weights get the stock lr (so ``custom_keys`` ``lr_mult``
      applies); the λ of their shift is ``eps_l2.weight_decay ×
      decay_mult`` of the matching ``custom_keys`` entry (1 if none;
      ``decay_mult=0`` switches the shift off).  When the optimizer's own
      ``weight_decay`` has the mode's semantics (coupled: SGD, Adam, ...;
      decoupled: AdamW) the group's ``weight_decay`` is that λ and the
      optimizer adds the ``λ·w`` part, the step hook only ``-λ ε ŵ``;
      otherwise the group's ``weight_decay`` is 0 and the hook adds the
      whole term (:mod:`mmdet_eps_l2.ops.param_groups`).
      ``bias_decay_mult`` / ``norm_decay_mult`` / ``flat_decay_mult`` do not
      concern conv weights.
    * Depthwise WS convs (one input channel per filter) are not shifted, as
      in the reference: they follow the stock rules (``dwconv_decay_mult``).
    * Parameters sharing all hyper-parameters share one group (the stock
      constructor makes one group per parameter), so torch can batch the
      update of a group: its foreach path, which it picks on CUDA; on CPU
      it picks its for-loop.  Groups are ordered by first appearance in
      ``model.named_parameters()``, independent of world size.
    * ``mode='coupled'`` adds ∂R/∂w to the gradient before the update (the
      reference; through momentum / Adam moments); ``'decoupled'`` applies
      ``w ← w - lr ∂R/∂w`` before the update (like AdamW's decay).  Without
      ``mode``, the optimizer's own ``weight_decay`` semantics
      (:func:`~mmdet_eps_l2.optim.step_hook.native_decay_mode`); an
      optimizer whose semantics are not known needs an explicit mode.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg=None):
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        # ``eps_l2`` stays in paramwise_cfg: the stock rules ignore it, and a
        # non-empty paramwise_cfg sends the stock __call__ to add_params
        self.eps_l2 = self._parse_eps_l2(self.paramwise_cfg.get('eps_l2'))
        #: parameters with requires_grad=False left out of the groups
        self.frozen_params = 0

    # ------------------------------------------------------------------ cfg
    def _parse_eps_l2(self, cfg) -> dict:
        where = 'optim_wrapper.paramwise_cfg.eps_l2'
        if cfg is None:
            raise KeyError(
                f'{where} is missing: EpsShiftedL2OptimWrapperConstructor '
                "needs e.g. paramwise_cfg=dict(eps_l2=dict(eps=1e-3))")
        if not isinstance(cfg, dict):
            raise TypeError(f'{where} must be a dict, got {cfg!r}')
        unknown = sorted(set(cfg) - set(EPS_L2_KEYS))
        if unknown:
            raise KeyError(f'{where}: unknown key(s) {unknown}; valid keys '
                           f'are {list(EPS_L2_KEYS)}')
        if 'eps' not in cfg:
            raise KeyError(f'{where}.eps is required (e.g. 1e-3)')
        eps = check_non_negative(cfg['eps'], f'{where}.eps')
        # None (no λ anywhere) is refused when there is a weight to shift
        lam = cfg.get('weight_decay', self.base_wd)
        if lam is not None:
            lam = check_non_negative(lam, f'{where}.weight_decay')
        mode = self._resolve_mode(cfg.get('mode'), where)
        allow = cfg.get('allow_no_ws_conv', False)
        if not isinstance(allow, bool):
            raise TypeError(f'{where}.allow_no_ws_conv must be a bool, '
                            f'got {allow!r}')
        if self.optimizer_cfg.get('maximize', False):
            raise ValueError('optimizer.maximize=True is not supported with '
                             'the eps-shifted L2 regularizer')
        return dict(eps=eps, weight_decay=lam, mode=mode,
                    allow_no_ws_conv=allow)

    def _resolve_mode(self, mode, where: str) -> str:
        """The explicit ``mode``, else the semantics of the optimizer's own
        ``weight_decay``; an explicit mode that differs from them is logged
        in one line."""
        optimizer = self._optimizer_type_name()
        native = native_decay_mode(optimizer, self.optimizer_cfg)
        if mode is None:
            if native is None:
                raise ValueError(
                    f'{where}.mode is not set and the weight_decay semantics '
                    f'of optimizer {optimizer!r} are not known: set '
                    f"mode='coupled' (added to the gradient, like SGD) or "
                    f"'decoupled' (applied to the weight, like AdamW)")
            return native
        if mode not in MODES:
            raise ValueError(f'{where}.mode must be one of {MODES}, '
                             f'got {mode!r}')
        if native is not None and mode != native:
            print_log(
                f'{where}.mode={mode!r} while {optimizer} decays '
                f'{native}: the eps-shifted term on WS conv weights is '
                f'{mode}, the other parameters keep {optimizer}\'s decay',
                logger='current', level=logging.WARNING)
        return mode

    def _optimizer_type_name(self) -> str:
        opt_type = self.optimizer_cfg['type']
        if isinstance(opt_type, str):
            return opt_type.split('.')[-1]
        return getattr(opt_type, '__name__', str(opt_type))

    # --------------------------------------------------------------- groups
    def _shift_keys(self, lam: float) -> dict:
        """Group keys of an ε-shifted weight with shift strength ``lam``."""
        mode = self.eps_l2['mode']
        fused = native_decay_mode(self._optimizer_type_name(),
                                  self.optimizer_cfg) == mode
        return shift_group_keys(self.eps_l2['eps'], mode, fused, lam)

    def build_param_groups(self, model: nn.Module) -> List[dict]:
        """Parameter groups: stock rules, ε-shift on WS weights, merged."""
        shifted = eps_shift_weights(model, self.eps_l2['eps'])
        if not shifted and not self.eps_l2['allow_no_ws_conv']:
            raise ValueError(
                'paramwise_cfg.eps_l2 is set but the model has no trainable '
                'weight-standardized conv (WSConv2d, ConvWS, ConvAWS, SAC) '
                'with more than one input channel per filter (frozen ones, '
                'e.g. under frozen_stages, are not shifted). Use '
                "conv_cfg=dict(type='WSConv2d'), or set "
                'eps_l2.allow_no_ws_conv=True to train without the shift. '
                'If the GN+WS settings came from a base, a second '
                '`model = dict(...)` in the same config file replaced them '
                "(README, 'Add the plugin to your own detector')")
        if shifted and self.eps_l2['weight_decay'] is None:
            raise KeyError(
                'optim_wrapper.paramwise_cfg.eps_l2.weight_decay is not set '
                'and the optimizer has no weight_decay: give the λ of the '
                'shift in one of them')
        # the stock rules, one group per parameter, from a stock constructor
        # (its add_params walks the modules; ours below adds merged groups)
        stock = DefaultOptimWrapperConstructor(
            dict(self.optim_wrapper_cfg, optimizer=self.optimizer_cfg),
            self.paramwise_cfg)
        per_param: List[dict] = []
        logger = MMLogger.get_current_instance()
        level = logger.level
        # its line per parameter (and per frozen one): the group table of
        # __call__ says it once
        logger.setLevel(logging.ERROR)
        try:
            stock.add_params(per_param, model)
        finally:
            logger.setLevel(level)
        self.frozen_params = sum(not p.requires_grad
                                 for p in model.parameters())
        names = {id(p): n for n, p in model.named_parameters()}
        seen = set()
        for group in per_param:
            (param, ) = group['params']
            if id(param) in seen:
                raise ValueError(
                    f'parameter {names.get(id(param))} is reached through '
                    'several modules; set paramwise_cfg.bypass_duplicate=True')
            seen.add(id(param))
            if id(param) in shifted:
                lam = self.eps_l2['weight_decay'] * group.get('decay_mult', 1.)
                group.update(self._shift_keys(lam))
        return self._merge(per_param)

    @staticmethod
    def _merge(per_param: List[dict]) -> List[dict]:
        merged: Dict[Tuple, dict] = {}
        for group in per_param:
            key = tuple(sorted((k, repr(v)) for k, v in group.items()
                               if k != 'params'))
            if key in merged:
                merged[key]['params'].extend(group['params'])
            else:
                merged[key] = dict(group, params=list(group['params']))
        return list(merged.values())

    # ---------------------------------------------------------------- build
    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module=None) -> None:
        """Add the merged groups of :meth:`build_param_groups` for
        ``module`` (the stock ``__call__`` calls this on the whole model)."""
        params.extend(self.build_param_groups(module))

    def __call__(self, model: nn.Module) -> OptimWrapper:
        optim_wrapper = super().__call__(model)
        optimizer = optim_wrapper.optimizer
        optimizer.register_step_pre_hook(EpsShiftedL2StepHook())
        self._log_summary(getattr(model, 'module', model), optimizer)
        return optim_wrapper

    def _log_summary(self, model: nn.Module,
                     optimizer: torch.optim.Optimizer) -> None:
        if get_rank() != 0:
            return
        table = format_group_table(optimizer, model)
        frozen = self.frozen_params
        if frozen:
            table += (f'\n{frozen} parameter(s) with requires_grad=False '
                      '(frozen stages, fixed norms) are not optimized')
        print_log(table, logger='current')


def format_group_table(optimizer: torch.optim.Optimizer,
                       model: nn.Module = None) -> str:
    """A compact table of the parameter groups of ``optimizer``."""
    names = {id(p): n for n, p in model.named_parameters()} if model else {}
    defaults = optimizer.defaults
    rows = [('group', 'tensors', 'numel', 'lr', 'weight_decay', 'eps-shift',
             'first parameter')]
    for i, g in enumerate(optimizer.param_groups):
        wd = g.get('weight_decay', defaults.get('weight_decay', 0.))
        shift = '-'
        if is_shifted(g):
            # fused: the optimizer's weight_decay is the λ·w part
            part = '-lambda*eps*w_hat' if g[keys.FUSED] \
                else 'lambda*(w - eps*w_hat)'
            shift = (f'{part}, eps={g[keys.EPS]:g} '
                     f'lambda={shift_lambda(g):g} {g[keys.MODE]}')
        first = names.get(id(g['params'][0]), '?') if g['params'] else ''
        rows.append((str(i), str(len(g['params'])),
                     str(sum(p.numel() for p in g['params'])),
                     f"{g['lr']:g}", f'{wd:g}', shift, first))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = ['  '.join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
             for row in rows]
    return ('EpsShiftedL2OptimWrapperConstructor parameter groups '
            "(weight_decay: the optimizer's own decay; eps-shift: what the "
            'step hook adds)\n' +
            '\n'.join(lines))
