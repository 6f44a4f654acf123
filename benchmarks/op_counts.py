"""Top-level aten ops of one call: the kernel-launch count a GPU would see.

Every top-level aten op (one not called from inside another aten op) is at
least one kernel launch on a GPU, plus Python and dispatcher overhead.
``torch.profiler`` records them on the CPU as on a GPU, so they can be
counted here.  Counted with :func:`top_level_aten_ops`:

* a conv's forward + backward (2×64×32×32 input, 3×3, 64→64, ``out.sum()``
  as the loss): plain ``nn.Conv2d``, timm-style standardization (one
  ``F.batch_norm`` on the weight), mmcv ``ConvWS2d``, ``WSConv2d``;
* one optimizer step over the 58 shifted weights of mmdet's Mask R-CNN
  R-50-FPN GN+WS: ``SGD(foreach=True)``, and the ε-shift alone.

    python benchmarks/op_counts.py [--json OUT]
"""
import argparse
import json
import sys
from typing import Callable, Dict

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile


def top_level_aten_ops(fn: Callable[[], object], warmup: int = 1) -> int:
    """The number of ``aten::`` ops one call of ``fn`` runs that no other
    ``aten::`` op encloses (autograd's own frames do not count as
    enclosing)."""
    for _ in range(warmup):
        fn()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    count = 0
    for event in prof.events():
        if not event.name.startswith('aten::'):
            continue
        parent = event.cpu_parent
        while parent is not None and not parent.name.startswith('aten::'):
            parent = parent.cpu_parent
        count += parent is None
    return count


class TimmStdConv2d(nn.Conv2d):
    """timm's ``StdConv2d`` formula: one ``F.batch_norm`` on the weight
    (biased σ, eps inside the root)."""

    def forward(self, x):
        w = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None,
                         None, training=True, momentum=0.,
                         eps=1e-6).reshape_as(self.weight)
        return self._conv_forward(x, w, self.bias)


def conv_step(conv: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    """Forward + backward of ``conv`` on ``x`` (loss ``out.sum()``)."""

    def step():
        conv.zero_grad(set_to_none=True)
        conv(x).sum().backward()

    return step


def conv_counts() -> Dict[str, int]:
    from mmcv.cnn.bricks.conv_ws import ConvWS2d

    from mmdet_eps_l2.models import WSConv2d
    torch.manual_seed(0)
    x = torch.randn(2, 64, 32, 32)
    convs = {
        'nn.Conv2d': nn.Conv2d(64, 64, 3, padding=1),
        'timm-style (batch_norm on the weight)': TimmStdConv2d(
            64, 64, 3, padding=1),
        'mmcv ConvWS2d': ConvWS2d(64, 64, 3, padding=1),
        'WSConv2d': WSConv2d(64, 64, 3, padding=1),
    }
    return {name: top_level_aten_ops(conv_step(conv, x))
            for name, conv in convs.items()}


def shift_counts(weights) -> Dict[str, int]:
    """Ops of one step over ``weights`` (with gradients): SGD foreach
    without decay, and the ε-shift alone (per-tensor default, the plain
    ``λ·w`` part left to the optimizer)."""
    from mmdet_eps_l2.ops import eps_shifted_l2_
    sgd = torch.optim.SGD(weights, lr=1e-3, momentum=0.9, foreach=True)
    grads = [w.grad for w in weights]
    return {
        'SGD(foreach=True).step()': top_level_aten_ops(sgd.step),
        'eps-shift': top_level_aten_ops(lambda: eps_shifted_l2_(
            weights, grads, eps=1e-3, weight_decay=1e-4, plain_decay=0.)),
    }


def main(argv=None) -> Dict[str, int]:
    parser = argparse.ArgumentParser()
    parser.add_argument('--json')
    args = parser.parse_args(argv)
    sys.path.insert(0, __file__.rsplit('/', 1)[0])
    from common import MASK_RCNN_GN_WS, build_mmdet_model

    from mmdet_eps_l2.ops.ws_family import eps_shift_weights
    counts = conv_counts()
    model = build_mmdet_model(MASK_RCNN_GN_WS, 'WSConv2d')
    shifted = eps_shift_weights(model)
    weights = [p for p in model.parameters() if id(p) in shifted]
    for w in weights:
        w.grad = torch.randn_like(w)
    counts.update(shift_counts(weights))
    n = len(weights)
    print('top-level aten ops per call (each at least one GPU launch)')
    for name, count in counts.items():
        extra = f'  ({count / n:.1f} per tensor, {n} tensors)' \
            if name in ('eps-shift', 'SGD(foreach=True).step()') else ''
        print(f'  {name:40s} {count:5d}{extra}')
    counts['shifted_tensors'] = n
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(counts, f, indent=2)
    return counts


if __name__ == '__main__':
    main()
