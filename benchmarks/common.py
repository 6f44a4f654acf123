"""Shared helpers of the benchmarks: side-by-side timing and the models."""
import os
import platform
import statistics
import time
from typing import Callable, Dict, List

import torch


def machine_line(device: str = 'cpu') -> str:
    line = (f'{platform.processor() or platform.machine()}, '
            f'{os.cpu_count()} cores, torch {torch.__version__}, '
            f'{torch.get_num_threads()} threads')
    if str(device).startswith('cuda'):
        line += f', {torch.cuda.get_device_name(device)}'
    return line


def synchronizer(device: str) -> Callable[[], None]:
    """What to call before each clock read on ``device``."""
    if str(device).startswith('cuda'):
        return torch.cuda.synchronize
    return lambda: None


def mmcv_formula(weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """mmcv's ``conv_ws_2d`` standardization (without the conv)."""
    c_in = weight.size(0)
    weight_flat = weight.view(c_in, -1)
    mean = weight_flat.mean(dim=1, keepdim=True).view(c_in, 1, 1, 1)
    std = weight_flat.std(dim=1, keepdim=True).view(c_in, 1, 1, 1)
    return (weight - mean) / (std + eps)


class Timings(dict):
    """Median seconds per candidate, with every sample in ``samples``
    (``samples[name][i]`` from round ``i``, all candidates alternated)."""

    def __init__(self, samples: Dict[str, List[float]]) -> None:
        super().__init__(
            {name: statistics.median(s) for name, s in samples.items()})
        self.samples = samples

    def ratio(self, a: str, b: str) -> Dict[str, float]:
        """min / median / max over the rounds of ``a / b``, each round's
        two samples taken side by side."""
        ratios = [x / y for x, y in zip(self.samples[a], self.samples[b])]
        return dict(min=min(ratios), median=statistics.median(ratios),
                    max=max(ratios))


def spread(r: Dict[str, float], fmt: str = '.3f') -> str:
    """``median (min-max)`` of a :meth:`Timings.ratio`."""
    return (f"{r['median']:{fmt}} ({r['min']:{fmt}}-{r['max']:{fmt}})")


def time_side_by_side(candidates: Dict[str, Callable[[], None]],
                      repeats: int = 7,
                      warmup: int = 2,
                      sync: Callable[[], None] = lambda: None) -> Timings:
    """Seconds per call, candidates alternated A/B/C, A/B/C, ...: the
    medians, and the samples for ratios per round (:class:`Timings`).

    ``sync`` runs before each clock read (e.g. ``torch.cuda.synchronize``).
    """
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    samples: Dict[str, List[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            sync()
            start = time.perf_counter()
            fn()
            sync()
            samples[name].append(time.perf_counter() - start)
    return Timings(samples)


def standardize_step(fn: Callable, weights: List[torch.Tensor],
                     grads: List[torch.Tensor]) -> Callable[[], None]:
    """One forward + backward of ``fn`` over every weight, every output
    alive until the backward (as in a training iteration)."""

    def step():
        outs = [fn(w) for w in weights]
        torch.autograd.backward(outs, grads)
        for w in weights:
            w.grad = None

    return step


def load_mmdet_config(config: str):
    """The config (``mmdet::`` resolved) in the mmdet scope, with the
    plugin registered and the pretrained backbone init off."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmdet_eps_l2  # noqa: F401
    init_default_scope('mmdet')
    cfg = Config.fromfile(resolve_config(config))
    cfg.model.backbone.init_cfg = None
    return cfg


def build_mmdet_model(config: str, ws_type: str = None):
    """A model of an mmdet config with init off; conv_cfg type replaced."""
    from mmdet.registry import MODELS
    cfg = load_mmdet_config(config)
    model_cfg = cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') \
        else dict(cfg.model)
    if ws_type is not None:
        model_cfg = _replace_conv_type(model_cfg, ws_type)
    from mmengine.config import ConfigDict
    return MODELS.build(ConfigDict(model_cfg))


def _replace_conv_type(node, ws_type):
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == 'conv_cfg' and isinstance(v, dict) and v.get('type') in (
                    'ConvWS', 'WSConv2d'):
                out[k] = None if ws_type == 'plain' else dict(v, type=ws_type)
            else:
                out[k] = _replace_conv_type(v, ws_type)
        return out
    if isinstance(node, list):
        return [_replace_conv_type(v, ws_type) for v in node]
    return node


def resolve_config(config: str) -> str:
    """``mmdet::x.py`` -> the file inside the installed mmdet package."""
    if '::' not in config:
        return config
    import os.path as osp

    from mmengine.utils import get_installed_path
    package, path = config.split('::', 1)
    return osp.join(get_installed_path(package), '.mim', 'configs', path)


MASK_RCNN_GN_WS = 'mmdet::gn+ws/mask-rcnn_r50_fpn_gn-ws-all_2x_coco.py'


def print_table(title: str, rows: List[tuple]) -> None:
    print(title)
    widths = [max(len(str(r[c])) for r in rows) for c in range(len(rows[0]))]
    for r in rows:
        print('  ' + '  '.join(str(c).ljust(w) for c, w in zip(r, widths)))
