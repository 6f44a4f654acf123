"""``WeightStatsHook``: watch filter norms and effective learning rates."""
import time
from collections import OrderedDict
from functools import partial
from typing import Callable, Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapperDict
from mmengine.registry import HOOKS

from ..ops import filter_mean_std
from ..ops import eps_shifted_l2_grad
from ..ops import param_groups as keys
from ..ops.param_groups import is_shifted, shift_lambda
from ..ops.ws_family import is_ws_conv
from ..optim import format_group_table


def _sq_norm(t: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(t, dtype=torch.float64))**2


def layer_group_of(param_name: str) -> str:
    """Coarse layer group of a parameter name, e.g. ``backbone.layer2``,
    ``backbone.stem``, ``neck``, ``rpn_head``, ``roi_head.bbox_head``."""
    parts = param_name.split('.')
    if parts[0] == 'backbone' and len(parts) > 2:
        return 'backbone.' + (parts[1] if parts[1].startswith('layer')
                              else 'stem')
    if parts[0] == 'roi_head' and len(parts) > 2:
        return 'roi_head.' + parts[1]
    return parts[0] if len(parts) > 1 else 'model'


@HOOKS.register_module()
class WeightStatsHook(Hook):
    """Log the statistics the ε-shifted L2 regularizer is about.

    Every ``interval`` training iterations, per layer group of WS conv
    weights (backbone stages, neck, heads; see :func:`layer_group_of`) it
    puts into mmengine's message hub (``ws/<group>/<name>``) and writes
    through the runner's visualizer, so the local JSON scalars
    (``vis_data/scalars.json``), TensorBoard and every other visualizer
    backend show them at step ``iter + 1``:

    * ``sigma_min`` / ``sigma_median`` / ``sigma_max``: the per-filter
      **unbiased** standard deviation σ_f of the stored weight (no ε_ws);
    * ``near_eps_frac``: fraction of filters with ``|σ_f - ε| <= 0.1 ε``
      (ε of the filter's ε-shifted parameter group, else the hook's ``eps``;
      not logged when neither is known);
    * ``eff_lr_median``: median over filters of ``lr / σ_f²``, the
      effective learning rate of the standardized weight;
    * ``task_grad_norm``: L2 norm of the loss gradient (after unscaling and
      clipping, as the optimizer receives it);
    * ``reg_grad_norm``: L2 norm of the regularizer's gradient, ∂R/∂w of the
      ε-shifted L2 for ε-shifted groups, ``weight_decay · w`` otherwise.

    One text line per interval gives σ over all WS conv filters (min,
    median) and, where ε > 0, the fraction near ε; ``log_to_console=True``
    adds one line per layer group with all its values.  Its own cost on a
    logged iteration is logged as ``weight_stats_hook/time_s``.

    Before training it logs each optimizer's parameter groups
    (:func:`~mmdet_eps_l2.optim.format_group_table`) with the values the
    steps use: after ``auto_scale_lr`` and a resumed optimizer state.

    The gradient norms are read on each of the runner's optimizers, by the
    ε-shift's step hook before it adds to the gradients (its
    ``grad_readers``), or by a step pre-hook where the optimizer has no
    shift, and the reader is removed after training; nothing runs between
    intervals.  Under ``GradScaler`` with a fused optimizer,
    the gradients are read unscaled.  With ``torch.compile`` the reader runs
    eagerly (``torch.compiler.disable``).
    """

    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL) reads the hub
    #: seconds this hook spent on the logged iteration
    COST_KEY = 'weight_stats_hook/time_s'

    def __init__(self,
                 interval: int = 50,
                 eps: Optional[float] = None,
                 near_eps_rtol: float = 0.1,
                 prefix: str = 'ws',
                 log_to_console: bool = False) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'WeightStatsHook interval must be an int >= 1, '
                             f'got {interval!r}')
        self.interval = interval
        self.eps = eps
        self.near_eps_rtol = near_eps_rtol
        self.prefix = prefix
        self.log_to_console = log_to_console
        self._record = False
        self._grad_sq: Dict[str, List[float]] = {}
        self._removers: List[Callable[[], None]] = []
        self._tracked: Dict[str, list] = OrderedDict()
        self.last_cost_s = 0.0

    # ----------------------------------------------------------- discovery
    def _collect(self, model: nn.Module, optimizers) -> None:
        model = getattr(model, 'module', model)
        param_group = {}
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                for p in group['params']:
                    param_group[id(p)] = group
        self._tracked = OrderedDict()  # layer group -> [(param, opt group)]
        for name, module in model.named_modules():
            if is_ws_conv(module) and id(module.weight) in param_group:
                self._tracked.setdefault(layer_group_of(name + '.weight'),
                                         []).append(
                                             (module.weight,
                                              param_group[id(module.weight)]))

    def before_train(self, runner) -> None:
        wrapper = runner.optim_wrapper
        wrappers = wrapper.values() if isinstance(wrapper, OptimWrapperDict) \
            else [wrapper]
        optimizers = [w.optimizer for w in wrappers]
        self._collect(runner.model, optimizers)
        for optimizer in optimizers:
            shift = getattr(optimizer, 'eps_l2_step_hook', None)
            if shift is not None:
                # read the loss gradient before the eps-shift adds to it
                shift.grad_readers.append(self._read_grads)
                self._removers.append(
                    partial(shift.grad_readers.remove, self._read_grads))
            else:
                self._removers.append(optimizer.register_step_pre_hook(
                    self._read_grads).remove)
            # the groups as the steps use them: after auto_scale_lr and a
            # resumed optimizer state
            runner.logger.info(
                format_group_table(optimizer,
                                   getattr(runner.model, 'module',
                                           runner.model)))

    def after_train(self, runner) -> None:
        for remove in self._removers:
            remove()
        self._removers = []

    # ---------------------------------------------------------------- work
    def before_train_iter(self, runner, batch_idx: int, data_batch=None):
        self._record = self.every_n_train_iters(runner, self.interval)
        if self._record:
            self._grad_sq = {}
            self.last_cost_s = 0.0

    @torch.compiler.disable
    def _read_grads(self, optimizer, args=None, kwargs=None) -> None:
        if not self._record:
            return
        start = time.perf_counter()
        # a fused optimizer under GradScaler still holds scaled gradients
        scale = getattr(optimizer, 'grad_scale', None)
        scale = 1.0 if scale is None else float(scale)
        params = {id(p) for g in optimizer.param_groups for p in g['params']}
        with torch.no_grad():
            for layer_group, entries in self._tracked.items():
                task, reg = self._grad_sq.get(layer_group, [0.0, 0.0])
                for p, group in entries:
                    if p.grad is None or id(p) not in params:
                        continue
                    task += _sq_norm(p.grad) / scale**2
                    reg += _sq_norm(self._reg_grad(p, group))
                self._grad_sq[layer_group] = [task, reg]
        self.last_cost_s += time.perf_counter() - start

    @staticmethod
    def _reg_grad(p: torch.Tensor, group: dict) -> torch.Tensor:
        if is_shifted(group):
            return eps_shifted_l2_grad(p, group[keys.EPS],
                                       shift_lambda(group))
        return p.detach() * group.get('weight_decay', 0.)

    def _eps_of(self, group: dict) -> Optional[float]:
        return group.get(keys.EPS, self.eps)

    def filter_sigmas(self) -> Dict[str, List[tuple]]:
        """Per layer group, each tracked weight's per-filter σ (unbiased, no
        ε_ws), its parameter group, and which filters lie within
        ``near_eps_rtol · ε`` of ε (None without a known ε > 0)."""
        sigmas: Dict[str, List[tuple]] = OrderedDict()
        with torch.no_grad():
            for layer_group, entries in self._tracked.items():
                for p, group in entries:
                    sigma = filter_mean_std(p.detach())[1].flatten()
                    eps = self._eps_of(group)
                    near = (sigma - eps).abs() <= self.near_eps_rtol * eps \
                        if eps is not None and eps > 0 else None
                    sigmas.setdefault(layer_group, []).append(
                        (sigma, group, near))
        return sigmas

    def compute_stats(self, sigmas: Dict[str, List[tuple]]
                      ) -> Dict[str, float]:
        """The scalars of :meth:`filter_sigmas` (and recorded gradients)."""
        stats = OrderedDict()
        for layer_group, entries in sigmas.items():
            sigma = torch.cat([s for s, _, _ in entries])
            eff_lr = torch.cat([float(g['lr']) / s.clamp_min(1e-30)**2
                                for s, g, _ in entries])
            near = [n for _, _, n in entries if n is not None]
            key = f'{self.prefix}/{layer_group}'
            stats[f'{key}/sigma_min'] = float(sigma.min())
            stats[f'{key}/sigma_median'] = float(sigma.median())
            stats[f'{key}/sigma_max'] = float(sigma.max())
            stats[f'{key}/eff_lr_median'] = float(eff_lr.median())
            if near and len(near) == len(entries):
                stats[f'{key}/near_eps_frac'] = float(
                    torch.cat(near).float().mean())
            if layer_group in self._grad_sq:
                task, reg = self._grad_sq[layer_group]
                stats[f'{key}/task_grad_norm'] = task**0.5
                stats[f'{key}/reg_grad_norm'] = reg**0.5
        return stats

    def summary_line(self, sigmas: Dict[str, List[tuple]], step: int) -> str:
        """σ over every tracked filter (min, median) and, where ε > 0, the
        fraction of filters near ε: the text log's line."""
        entries = [e for group in sigmas.values() for e in group]
        sigma = torch.cat([s for s, _, _ in entries])
        near = [n for _, _, n in entries if n is not None]
        line = (f'{self.prefix} iter {step}: sigma min '
                f'{float(sigma.min()):.4g} median '
                f'{float(sigma.median()):.4g} over {sigma.numel()} '
                'WS filters')
        if near:
            frac = float(torch.cat(near).float().mean())
            line += f', near eps {frac:.3f}'
        return line

    def format_stats(self, stats: Dict[str, float], step: int) -> List[str]:
        """One text line per layer group of :meth:`compute_stats`."""
        by_group: Dict[str, Dict[str, float]] = OrderedDict()
        for key, value in stats.items():
            group, name = key[len(self.prefix) + 1:].rsplit('/', 1)
            by_group.setdefault(group, {})[name] = value
        lines = []
        for group, s in by_group.items():
            line = (f'{self.prefix} iter {step} {group}: sigma '
                    f"{s['sigma_median']:.4g} [{s['sigma_min']:.4g}, "
                    f"{s['sigma_max']:.4g}]  eff_lr {s['eff_lr_median']:.4g}")
            if 'near_eps_frac' in s:
                line += f"  near_eps {s['near_eps_frac']:.3f}"
            if 'task_grad_norm' in s:
                line += (f"  task_grad {s['task_grad_norm']:.4g}  reg_grad "
                         f"{s['reg_grad_norm']:.4g}")
            lines.append(line)
        return lines

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if not self._record:
            return
        start = time.perf_counter()
        sigmas = self.filter_sigmas()
        stats = self.compute_stats(sigmas)
        for key, value in stats.items():
            runner.message_hub.update_scalar(key, value)
        if sigmas:
            runner.logger.info(self.summary_line(sigmas, runner.iter + 1))
        if self.log_to_console:
            for line in self.format_stats(stats, runner.iter + 1):
                runner.logger.info(line)
        self.last_cost_s += time.perf_counter() - start
        stats[self.COST_KEY] = self.last_cost_s
        runner.message_hub.update_scalar(self.COST_KEY, self.last_cost_s)
        runner.visualizer.add_scalars(stats, step=runner.iter + 1)
        self._record = False
