"""The figures of a gpu_e2e.json, as Markdown for the README.

    python benchmarks/gpu_e2e/summarize.py OUT_DIR/gpu_e2e.json

One table of the stages (status, seconds, reason), then the figures of
each stage that passed: ops parity, unit-check maxima, mAP of the toy
detectors against the fp32 CPU demo, the fold check, the resume difference
and the performance tables (median ms, per-round ratio median (min-max),
peak MiB).
"""
import json
import sys


def ratio(entry):
    return (f"{entry['ratio_median']:.3f} ({entry['ratio_min']:.3f}-"
            f"{entry['ratio_max']:.3f})")


def perf_table(title, rows):
    lines = [f'**{title}**', '', '| candidate | ms | ratio to '
             f'{next(iter(rows.values()))["ratio_to"]} | peak MiB |',
             '|---|---|---|---|']
    for name, e in rows.items():
        if not isinstance(e, dict):
            continue
        peak = '—' if e.get('peak_mib') is None else f"{e['peak_mib']:.0f}"
        lines.append(f"| {name} | {e['ms']:.2f} | {ratio(e)} | {peak} |")
    return lines + ['']


def summarize(result: dict) -> str:
    m = result.get('machine', {})
    out = [f"gpu_e2e on {m.get('gpu', 'CPU (dry run)')}, torch "
           f"{m.get('torch')}, CUDA {m.get('cuda')}, Python "
           f"{result.get('python')}; {result.get('total_s')} s of a "
           f"{result.get('budget_s'):.0f} s budget", '',
           '| stage | status | s | reason |', '|---|---|---|---|']
    stages = result.get('stages', {})
    for name, s in stages.items():
        out.append(f"| {name} | {s['status']} | {s.get('seconds', '')} | "
                   f"{s.get('reason') or ''} |")
    out.append('')
    ok = {k: v for k, v in stages.items() if v['status'] == 'passed'}
    if 'mmcv_ops' in ok:
        p, b = ok['mmcv_ops'].get('parity', {}), ok['mmcv_ops'].get(
            'build', {})
        diffs = {k: v for k, v in p.items()
                 if k.startswith(('roi_align', 'sigmoid_focal'))}
        if b.get('path') == 'prebuilt':
            pb = b.get('prebuilt_build', {})
            how = (f"prebuilt module of the kit loaded in {b.get('seconds')}"
                   f" s (compiled for arch {pb.get('arch')} against torch "
                   f"{pb.get('torch')})")
        else:
            how = (f"compiled in {b.get('seconds')} s ({b.get('jobs')} jobs, "
                   f"arch {b.get('arch')}, CUDA_HOME {b.get('cuda_home')}, "
                   f"compat headers {b.get('compat_headers') or 'none'}; "
                   f"not the prebuilt: {b.get('prebuilt_rejected')})")
        out += [f"mmcv ops: {how}; vs {p.get('vs')}: "
                f"nms same indices {p.get('nms_keep_equal')}, largest "
                f"differences {diffs}", '']
    if 'unit' in ok:
        checks = ok['unit'].get('checks', {})
        vals = ', '.join(f"{k} {v['value']:.2e}" for k, v in checks.items()
                         if isinstance(v.get('value'), float))
        out += [f'unit checks (value / bound all met): {vals}', '']
    for name in ('train_mask_rcnn', 'train_retinanet'):
        if name in ok:
            t = ok[name]
            metrics = t.get('metrics')
            maps = {k: v for k, v in metrics.items() if k in (
                'coco/bbox_mAP', 'coco/segm_mAP')} if isinstance(
                    metrics, dict) else metrics
            out += [f"{name}: {t.get('wall_s')} s, "
                    f"{t.get('s_per_iter_last')} s/iter at the end, loss "
                    f"{t.get('loss_first')} -> {t.get('loss_last')}, {maps}, "
                    f"vs fp32 CPU demo {t.get('vs_cpu_fp32_demo')}", '']
    if 'tools' in ok:
        t = ok['tools']
        out += [f"tools: test.py {t['test_metrics'].get('coco/bbox_mAP')} "
                f"bbox mAP; folded model differs by at most "
                f"{t['max_metric_diff_folded']}", '']
    if 'dist_resume' in ok:
        d = ok['dist_resume']
        out += [f"dist_resume: {d['iterations']} iterations, resumed from "
                f"{d['resumed_from']}; largest weight difference "
                f"{d['max_abs_diff']:.3g} (bound {d['bound']:.3g})", '']
    if 'perf' in ok:
        p = ok['perf']
        trunk = p.get('trunk', {})
        for tag in ('fp32', 'amp_float16', 'amp_bfloat16'):
            if tag in trunk:
                out += perf_table(f"GN+WS ResNet-50-FPN fwd + bwd, "
                                  f"{trunk['input']}, {tag}", trunk[tag])
        if 'step' in p:
            s = p['step']
            out += perf_table(f"optimizer step, {s['numel_millions']} M "
                              f"parameters, {s['shifted_weights']} shifted "
                              'weights', s['steps'])
        if 'iteration' in p:
            it = p['iteration']
            out += perf_table(f"Mask R-CNN training iteration, "
                              f"{it['batch']}, AMP {it['amp']}",
                              it['iterations'])
    return '\n'.join(out)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__.split('\n\n')[1])
        return 2
    with open(argv[0]) as f:
        print(summarize(json.load(f)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
