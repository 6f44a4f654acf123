"""The ε-shift over the shifted weights of Mask R-CNN R-50, eager and
compiled, against one ``SGD(foreach=True)`` step over the same weights.

    python benchmarks/eps_shift.py [--repeats 7] [--json OUT] [--device cuda]

The weights are those mmdet's Mask R-CNN R-50-FPN GN+WS config shifts
(float32, random values and gradients).  Time: the three candidates
alternated (:func:`common.time_side_by_side`), each as a ratio to the SGD
step of the same round.  "compiled" is :func:`eps_shifted_l2_` under
``torch.compile`` (what ``compile = True`` gives the step hook).

Memory on CPU, in a fresh process holding only the weights and their
gradients (on a GPU, from torch's allocator statistics around one shift):
the peak resident set during one eager shift (``VmHWM`` of
``/proc/self/status``, reset just before by writing 5 to
``/proc/self/clear_refs``; ``MALLOC_MMAP_THRESHOLD_=65536``, so every large
buffer is mapped on its own and returned when freed) minus the resident
set before it, and what is left after it (kept between steps).
"""
import argparse
import json
import os
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import (MASK_RCNN_GN_WS, build_mmdet_model,  # noqa: E402
                    machine_line, print_table, spread, synchronizer,
                    time_side_by_side)

from mmdet_eps_l2.ops import eps_shifted_l2_  # noqa: E402
from mmdet_eps_l2.ops.ws_family import eps_shift_weights  # noqa: E402

EPS, WD = 1e-3, 1e-4
SHIFT = dict(eps=EPS, weight_decay=WD, plain_decay=0.)

MEMORY_CHILD = r'''
import gc, json, sys
import torch
from mmdet_eps_l2.ops import eps_shifted_l2_

shapes, kw = json.loads(sys.argv[1])

def status(key):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1]) * 1024

gen = torch.Generator().manual_seed(0)
params = [torch.randn(s, generator=gen) * 0.05 for s in shapes]
grads = [torch.randn(s, generator=gen) * 1e-3 for s in shapes]
eps_shifted_l2_([torch.randn(2, 3, 1, 1)], [torch.randn(2, 3, 1, 1)], **kw)
gc.collect()
with open('/proc/self/clear_refs', 'w') as f:
    f.write('5')  # VmHWM := VmRSS
before = status('VmRSS')
eps_shifted_l2_(params, grads, **kw)
peak = status('VmHWM') - before
gc.collect()
print(json.dumps(dict(peak=peak, lasting=status('VmRSS') - before)))
'''


def shifted_weights(device='cpu'):
    """The weights (with random gradients) the ε-shift acts on in mmdet's
    GN+WS Mask R-CNN R-50-FPN."""
    model = build_mmdet_model(MASK_RCNN_GN_WS, 'WSConv2d')
    shifted = eps_shift_weights(model)
    weights = [p.detach().to(device) for p in model.parameters()
               if id(p) in shifted]
    torch.manual_seed(0)
    for w in weights:
        w.grad = torch.randn_like(w) * 1e-3
    return weights


def memory(weights):
    proc = subprocess.run(
        [sys.executable, '-c', MEMORY_CHILD,
         json.dumps([[list(w.shape) for w in weights], SHIFT])],
        env=dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536'),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cuda_memory(weights):
    """The same on a GPU, from torch's allocator statistics."""
    grads = [w.grad for w in weights]
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    eps_shifted_l2_(weights, grads, **SHIFT)
    torch.cuda.synchronize()
    return dict(peak=torch.cuda.max_memory_allocated() - before,
                lasting=torch.cuda.memory_allocated() - before)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--json')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    weights = shifted_weights(args.device)
    grads = [w.grad for w in weights]
    sgd = torch.optim.SGD(weights, lr=0.02, momentum=0.9, foreach=True)
    compiled = torch.compile(eps_shifted_l2_)
    times = time_side_by_side(
        {
            'SGD(foreach=True).step()': sgd.step,
            'eps-shift, eager': lambda: eps_shifted_l2_(weights, grads,
                                                        **SHIFT),
            'eps-shift, compiled': lambda: compiled(weights, grads, **SHIFT),
        },
        repeats=args.repeats, sync=synchronizer(args.device))
    mem = memory(weights) if args.device == 'cpu' else cuda_memory(weights)
    mib = 2**20
    largest = max(w.numel() * 4 for w in weights)
    ratios = {k: times.ratio(k, 'SGD(foreach=True).step()')
              for k in ('eps-shift, eager', 'eps-shift, compiled')}
    print_table(
        f'# eps-shift over {len(weights)} weights '
        f'({sum(w.numel() for w in weights) * 4 / mib:.0f} MiB), '
        f'{machine_line(args.device)}',
        [('step', 'ms', 'ratio to SGD foreach step, median (min-max)')] +
        [(k, f'{v * 1e3:.1f}', spread(ratios[k], '.2f') if k in ratios
          else '1') for k, v in times.items()])
    print(f'eager shift: peak extra memory {mem["peak"] / mib:.1f} MiB '
          f'({mem["peak"] / largest:.2f}x the largest weight, '
          f'{largest / mib:.1f} MiB), kept after the step '
          f'{mem["lasting"] / mib:.1f} MiB')
    result = dict(ratios=ratios, memory=mem, largest_weight=largest)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
