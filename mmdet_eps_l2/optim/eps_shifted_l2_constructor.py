"""``EpsShiftedL2OptimWrapperConstructor``: the ε-shifted L2 regularizer for
the weights of weight-standardized convs, stock rules for everything else."""
import logging
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS

from ..ops import MODES, check_non_negative
from ..ops import param_groups as keys
from ..ops.param_groups import is_shifted, shift_group_keys, shift_lambda
from ..ops.ws_family import eps_shift_weights
from .resume_notice import ResumeNotice
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
                    # weight_decay=1e-4,  # λ, only for an optimizer
                    #                     # without weight_decay
                    mode='coupled',       # or 'decoupled'; default: the
                                          # optimizer's own semantics
                    allow_no_ws_conv=False),  # True: no WS conv is fine
                # any DefaultOptimWrapperConstructor option
            ))

    Rules:

    * Every parameter gets exactly the lr and weight decay of
      ``DefaultOptimWrapperConstructor`` with the same ``paramwise_cfg``
      (``custom_keys``, ``bias_decay_mult``, ``norm_decay_mult``,
      ``dwconv_decay_mult``, ``flat_decay_mult``, ``bypass_duplicate`` ...),
      and mmengine's messages about them.
    * The λ of an ε-shifted weight is that weight decay: the group's
      ``weight_decay``, which weight-decay schedulers move.
      ``eps_l2.weight_decay`` gives λ only when the optimizer config
      gives no ``weight_decay``: then to every shifted weight that
      ``custom_keys`` gives none (the other parameters keep torch's
      default, e.g. AdamW's 0.01).  λ = 0 (``weight_decay=0`` or
      ``decay_mult=0``) switches the shift off.
    * When the optimizer's own ``weight_decay`` has the mode's semantics
      (coupled: SGD, Adam, ...; decoupled: AdamW), the optimizer adds the
      ``λ·w`` part and the step hook only ``-λ ε ŵ``; otherwise the hook
      adds the whole term and the optimizer's update runs with
      ``weight_decay=0`` on that group (:mod:`mmdet_eps_l2.optim.step_hook`).
    * Depthwise WS convs (one input channel per filter) are not shifted, as
      in the reference: they follow the stock rules (``dwconv_decay_mult``).
    * Parameters sharing all hyper-parameters share one group (the stock
      constructor makes one group per parameter), so torch can batch the
      update of a group: its foreach path, which it picks on CUDA; on CPU
      it picks its for-loop.  Groups are ordered by first appearance in
      ``model.named_parameters()``, independent of world size.  A
      parameter reached twice without ``bypass_duplicate`` stays in two
      groups, and torch refuses it as it refuses the stock groups.
    * The groups are plain dicts (mmengine's own constructor leaves the
      ``ConfigDict`` type of a config file on them, which
      ``torch.compile`` cannot trace).
    * ``mode='coupled'`` adds ∂R/∂w to the gradient before the update (the
      reference; through momentum / Adam moments); ``'decoupled'`` applies
      ``w ← w - lr ∂R/∂w`` before the update (like AdamW's decay).  Without
      ``mode``, the optimizer's own ``weight_decay`` semantics
      (:func:`~mmdet_eps_l2.optim.step_hook.native_decay_mode`); an
      optimizer whose semantics are not known needs an explicit mode.
    * A resumed optimizer state keeps its own ε, λ and mode, as mmengine
      keeps its lr and weight decay; one line says so where they differ
      from the config's (:mod:`mmdet_eps_l2.optim.resume_notice`).
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg=None):
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        # a plain dict: the stock __call__ puts the groups into a copy of
        # it, and a ConfigDict (a config file's) would turn them into
        # ConfigDicts
        self.optimizer_cfg = dict(self.optimizer_cfg)
        # ``eps_l2`` stays in paramwise_cfg: the stock rules ignore it, and a
        # non-empty paramwise_cfg sends the stock __call__ to add_params
        self.eps_l2 = self._parse_eps_l2(self.paramwise_cfg.get('eps_l2'))

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
        lam = cfg.get('weight_decay')
        if lam is not None:
            lam = check_non_negative(lam, f'{where}.weight_decay')
            if self.base_wd is not None and lam != self.base_wd:
                raise ValueError(
                    f'{where}.weight_decay={lam:g} and optimizer.'
                    f'weight_decay={self.base_wd:g}: the λ of the shift is '
                    "each weight's own weight decay (the optimizer's, with "
                    "paramwise_cfg's rules); drop "
                    f'{where}.weight_decay, or give WS weights their own '
                    "decay with paramwise_cfg.custom_keys (e.g. {'backbone':"
                    " dict(decay_mult=...)})")
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
    def _shift_keys(self) -> dict:
        """Group keys of an ε-shifted weight."""
        mode = self.eps_l2['mode']
        fused = native_decay_mode(self._optimizer_type_name(),
                                  self.optimizer_cfg) == mode
        return shift_group_keys(self.eps_l2['eps'], mode, fused)

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
        # the stock rules and messages, one group per parameter, from a
        # stock constructor (its add_params walks the modules; ours adds
        # merged groups)
        stock = DefaultOptimWrapperConstructor(
            dict(self.optim_wrapper_cfg, optimizer=self.optimizer_cfg),
            self.paramwise_cfg)
        per_param: List[dict] = []
        stock.add_params(per_param, model)
        default_lam = self.base_wd if self.base_wd is not None \
            else self.eps_l2['weight_decay']
        shift_keys = self._shift_keys()
        for group in per_param:
            (param, ) = group['params']
            if id(param) not in shifted:
                continue
            lam = group.get('weight_decay', default_lam)
            if lam is None:
                raise KeyError(
                    'optim_wrapper.paramwise_cfg.eps_l2.weight_decay is not '
                    'set and the optimizer config gives no weight_decay: '
                    f'give the λ of the shift (of {shifted[id(param)]} ...) '
                    'in one of them')
            group['weight_decay'] = lam
            group.update(shift_keys)
        return self._merge(per_param)

    @staticmethod
    def _merge(per_param: List[dict]) -> List[dict]:
        merged: Dict[Tuple, dict] = {}
        seen = set()
        for i, group in enumerate(per_param):
            (param, ) = group['params']
            key = tuple(sorted((k, repr(v)) for k, v in group.items()
                               if k != 'params'))
            if id(param) in seen:
                key = ('duplicate', i)  # its own group: torch refuses it
            seen.add(id(param))
            if key in merged:
                merged[key]['params'].append(param)
            else:
                merged[key] = dict(group, params=[param])
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
        EpsShiftedL2StepHook.register(optim_wrapper.optimizer)
        ResumeNotice.register(optim_wrapper.optimizer)
        return optim_wrapper


def format_group_table(optimizer: torch.optim.Optimizer,
                       model: nn.Module = None) -> str:
    """A compact table of the parameter groups of ``optimizer``, as its
    steps use them."""
    names = {id(p): n for n, p in model.named_parameters()} if model else {}
    defaults = optimizer.defaults
    rows = [('group', 'tensors', 'numel', 'lr', 'weight_decay', 'eps-shift',
             'first parameter')]
    for i, g in enumerate(optimizer.param_groups):
        wd = g.get('weight_decay', defaults.get('weight_decay', 0.))
        shift = '-'
        if is_shifted(g):
            # fused: the optimizer's weight_decay is the λ·w part
            if g[keys.FUSED]:
                part = '-lambda*eps*w_hat'
            else:
                part, wd = 'lambda*(w - eps*w_hat)', 0.
            shift = (f'{part}, eps={g[keys.EPS]:g} '
                     f'lambda={shift_lambda(g):g} {g[keys.MODE]}')
        first = names.get(id(g['params'][0]), '?') if g['params'] else ''
        rows.append((str(i), str(len(g['params'])),
                     str(sum(p.numel() for p in g['params'])),
                     f"{g['lr']:g}", f'{wd:g}', shift, first))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = ['  '.join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
             for row in rows]
    table = ('parameter groups (weight_decay: what the optimizer applies; '
             'eps-shift: what the step hook adds)\n' + '\n'.join(lines))
    frozen = sum(not p.requires_grad for p in model.parameters()) \
        if model else 0
    if frozen:
        table += (f'\n{frozen} parameter(s) with requires_grad=False '
                  '(frozen stages, fixed norms) are not optimized')
    return table
