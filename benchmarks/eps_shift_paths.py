"""Memory and time of the two ε-shift paths over the R-50 shifted weights.

    python benchmarks/eps_shift_paths.py [--repeats 5] [--json OUT]

The weights are those mmdet's Mask R-CNN R-50-FPN GN+WS config shifts
(float32, random values and gradients).  Each path of
:func:`mmdet_eps_l2.ops.eps_shifted_l2_` (per tensor, the default; batched,
``foreach=True``) runs in a fresh process that holds only those weights and
their gradients, measured there:

* peak extra memory: the peak resident set during the first step
  (``VmHWM`` of ``/proc/self/status``, reset just before the step by
  writing 5 to ``/proc/self/clear_refs``) minus the resident set before it,
  i.e. the temporaries alive at one time; with
  ``MALLOC_MMAP_THRESHOLD_=65536``, so that glibc maps every large buffer
  on its own and returns it when freed;
* lasting memory: the resident set after the step (and ``gc.collect()``)
  minus before it, i.e. what the path keeps between steps (torch's one-time
  set-up is done before, on a tiny tensor);
* time: the median of ``--repeats`` steps after a first one, in another
  fresh process with glibc's default allocator settings.
"""
import argparse
import json
import os
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
EPS, WD = 1e-3, 1e-4

CHILD = r'''
import gc, json, statistics, sys, time
import torch
from mmdet_eps_l2.ops import eps_shifted_l2_

shapes, foreach, repeats = json.loads(sys.argv[1])
torch.set_num_threads(int(sys.argv[2]))

def status(key):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1]) * 1024

def rss():
    return status('VmRSS')

gen = torch.Generator().manual_seed(0)
params = [torch.randn(s, generator=gen) * 0.05 for s in shapes]
grads = [torch.randn(s, generator=gen) * 1e-3 for s in shapes]
tiny = [torch.randn(2, 3, 1, 1)]  # torch's one-time set-up, not counted
eps_shifted_l2_(tiny, [torch.randn(2, 3, 1, 1)], eps=%(eps)r,
                weight_decay=%(wd)r, foreach=foreach)
gc.collect()
with open('/proc/self/clear_refs', 'w') as f:
    f.write('5')  # VmHWM := VmRSS
rss0 = rss()
eps_shifted_l2_(params, grads, eps=%(eps)r, weight_decay=%(wd)r,
                foreach=foreach)
extra_peak = status('VmHWM') - rss0
gc.collect()
lasting = rss() - rss0
times = []
for _ in range(repeats):
    t = time.perf_counter()
    eps_shifted_l2_(params, grads, eps=%(eps)r, weight_decay=%(wd)r,
                    foreach=foreach)
    times.append(time.perf_counter() - t)
print(json.dumps(dict(extra_peak=extra_peak, lasting=lasting,
                      ms=statistics.median(times) * 1e3 if times else None,
                      weights=sum(p.numel() * 4 for p in params))))
''' % dict(eps=EPS, wd=WD)


def shifted_shapes():
    """The shapes of the weights the ε-shift acts on in mmdet's GN+WS
    Mask R-CNN R-50-FPN."""
    sys.path.insert(0, HERE)
    from common import MASK_RCNN_GN_WS, build_mmdet_model

    from mmdet_eps_l2.ops.ws_family import eps_shift_weights
    model = build_mmdet_model(MASK_RCNN_GN_WS, 'WSConv2d')
    for p in model.parameters():
        p.requires_grad_(True)
    shifted = eps_shift_weights(model)
    return [list(p.shape) for p in model.parameters() if id(p) in shifted]


def _child(shapes, foreach, repeats, env):
    proc = subprocess.run(
        [sys.executable, '-c', CHILD,
         json.dumps([shapes, foreach, repeats]),
         str(torch.get_num_threads())],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_path(shapes, foreach, repeats):
    """Memory with every large buffer mapped alone; time with glibc's
    defaults (each in a fresh process)."""
    memory = _child(shapes, foreach, 0,
                    dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536'))
    timing = _child(shapes, foreach, repeats, dict(os.environ))
    return dict(memory, ms=timing['ms'])


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--json')
    args = parser.parse_args(argv)
    sys.path.insert(0, HERE)
    from common import machine_line
    shapes = shifted_shapes()
    numel = sum(torch.Size(s).numel() for s in shapes)
    print(f'# eps_shift_paths benchmark on {machine_line()}')
    print(f'{len(shapes)} shifted weights, {numel / 1e6:.2f} M elements, '
          f'{numel * 4 / 2**20:.1f} MiB (float32); the largest '
          f'{max(torch.Size(s).numel() for s in shapes) * 4 / 2**20:.1f} '
          'MiB')
    results = {}
    print(f'{"path":<28}{"peak extra MiB":>16}{"lasting MiB":>13}'
          f'{"step ms":>10}')
    for name, foreach in (('per tensor (default)', False),
                          ('batched (foreach=True)', True)):
        r = run_path(shapes, foreach, args.repeats)
        results[name] = r
        print(f'{name:<28}{r["extra_peak"] / 2**20:>16.1f}'
              f'{r["lasting"] / 2**20:>13.1f}{r["ms"]:>10.1f}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(shapes=len(shapes), numel=numel,
                           results=results), f, indent=2)
    return results


if __name__ == '__main__':
    main()
