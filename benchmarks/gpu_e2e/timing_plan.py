"""The GPU run's timing plan, from a CPU dry run's gpu_e2e.json.

    python timing_plan.py RUN/gpu_e2e.json [RUN2/gpu_e2e.json ...]

(``--dry-run --cpu-e2e`` runs; per stage the fastest of the runs that
passed it.)  Each stage's expected seconds on the GPU machine = its CPU-
bound part (what the dry run measured, less its training iterations on
CPU: process start, imports, config and model building, data loading,
COCO evaluation, pip), times ``CPU_BOUND_SCALE``, plus the GPU's work
under the assumptions below (none of them measured: the check has not met
a GPU).  Prints a Markdown table and the total; exits 1 over ``LIMIT_S``.
"""
import json
import sys

LIMIT_S = 420  # one run of at most 7 min: a rerun fits in 15 min with the
# machine's start (1-2 min)
# ---- assumptions (GPU machine; not measured)
# the dry runs shared 2 cores at a load average of 3.3-7 (a process got
# half a core or less: the stack's import took 16.3 s wall for 5.5 s of
# CPU at load 7); on the GPU machine each process has an idle core
CPU_BOUND_SCALE = 0.5
CUDA_INIT_S = 5.0          # CUDA context (and NCCL) per process
GPU_S_PER_ITER = dict(train_mask_rcnn=0.12, train_retinanet=0.08,
                      dist_resume=0.12)  # toy models, batch 2, --amp
GPU_VAL_S = 5.0            # one evaluation of the 100 generated val images
# perf.py at full size: (a) 3 convs x 2 dtypes x 12 calls of the R-50-FPN
# trunk forward+backward at 2x3x800x1333 at 0.3 s, (b) 4 x 53 optimizer
# steps over 45.7 M parameters at 10 ms, (c) 2 x 10 Mask R-CNN iterations
# at 0.5 s: 22 + 2 + 10 s, rounded up
PERF_GPU_S = 40.0
GPU_ITERS = dict(train_mask_rcnn=400, train_retinanet=400,
                 dist_resume=40 + 10 + 30)  # full, killed at 1/4, resumed
# training iterations of the CPU dry run, taken out at that stage's own
# CPU seconds per iteration (dist_resume's, which it does not report, stay
# in: counted as CPU-bound)
CPU_ITERS = dict(train_mask_rcnn=4, train_retinanet=4)
PROCESSES = dict(install=1, mmcv_ops=2, unit=1, train_mask_rcnn=1, tools=3,
                 perf=1, dist_resume=3, train_retinanet=1)
# on the GPU the uninterrupted dist run runs beside the other two (the CPU
# dry run runs all three one after the other): two of three process starts
OVERLAP = dict(dist_resume=2 / 3)
EVALS = dict(train_mask_rcnn=1, train_retinanet=1, tools=2, dist_resume=2)


def plan(result):
    """(stage, CPU seconds, CPU-bound part, GPU work, plan) per stage that
    passed in one dry run."""
    rows = {}
    for name, s in result['stages'].items():
        if s['status'] != 'passed':
            continue
        cpu = s['seconds']
        fixed = cpu - CPU_ITERS.get(name, 0) * (s.get('s_per_iter_last') or 0)
        fixed *= OVERLAP.get(name, 1)
        gpu = PROCESSES[name] * CUDA_INIT_S + EVALS.get(name, 0) * GPU_VAL_S
        gpu += GPU_ITERS.get(name, 0) * GPU_S_PER_ITER.get(name, 0)
        gpu *= OVERLAP.get(name, 1)
        if name == 'perf':
            gpu += PERF_GPU_S
        rows[name] = (name, cpu, round(fixed, 1), round(gpu, 1),
                      round(fixed * CPU_BOUND_SCALE + gpu))
    return rows


def fastest(results):
    """Per stage the smallest plan of the runs that passed it, in the
    stages' order."""
    best = {}
    for r in results:
        for name, row in plan(r).items():
            if name not in best or row[-1] < best[name][-1]:
                best[name] = row
    order = [n for r in results for n in r['stages']]
    return [best[n] for n in dict.fromkeys(order) if n in best]


def main(argv=None):
    results = []
    for path in argv or sys.argv[1:]:
        with open(path) as f:
            results.append(json.load(f))
    rows = fastest(results)
    print(f'| stage | CPU dry run, s | of it CPU-bound, s | GPU work '
          f'(assumed), s | plan = {CPU_BOUND_SCALE} x CPU-bound + GPU, s |')
    print('|---|---|---|---|---|')
    for r in rows:
        print('| ' + ' | '.join(map(str, r)) + ' |')
    total = sum(r[-1] for r in rows)
    print(f'| total | {sum(r[1] for r in rows):.1f} | | | {total} |')
    return 0 if total <= LIMIT_S else 1


if __name__ == '__main__':
    sys.exit(main())
