"""The optional parts of the GPU kit (``tools/make_gpu_kit.sh``).

    TWIN/bin/python kit_extras.py prebuilt KIT   # .gpu_kit/prebuilt/
    .venv/bin/python kit_extras.py ops-ref KIT   # .gpu_kit/ops_ref.pt

``prebuilt``: the mmcv ops subset (``mmcv_ops_subset/build.py``) compiled
with CUDA for compute capability ``GPU_KIT_ARCH`` (default 9.0) against the
torch of the running interpreter (the twin of the GPU machine's stack,
``make gpu-twin``), into ``KIT/prebuilt/_ext_subset.so`` with
``prebuilt.json`` (torch, CUDA, arch, toolkit, and a key over the inputs:
an unchanged key is not compiled again).  The GPU run loads it instead of
compiling, when it loads and runs there.

``ops-ref``: the outputs of ``ops_parity.py`` from a full mmcv build (the
CPU development environment), which a run without a full mmcv (the twin)
compares the subset's CPU kernels with.
"""
import hashlib
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
SUBSET = osp.join(HERE, 'mmcv_ops_subset')


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def prebuilt_key(sdist, arch):
    import torch
    h = hashlib.sha256()
    for path in [sdist] + sorted(
            osp.join(SUBSET, n) for n in os.listdir(SUBSET)
            if n.endswith(('.py', '.cpp'))):
        h.update(osp.basename(path).encode() + sha256(path).encode())
    h.update(f'{torch.__version__} {sys.version_info[:2]} {arch}'.encode())
    return h.hexdigest()[:16]


def prebuilt(kit):
    import torch
    sdist = osp.join(kit, 'sdist', 'mmcv-2.1.0.tar.gz')
    arch = os.environ.get('GPU_KIT_ARCH', '9.0')
    key = prebuilt_key(sdist, arch)
    out = osp.join(kit, 'prebuilt')
    meta = osp.join(out, 'prebuilt.json')
    if osp.exists(meta) and osp.exists(osp.join(out, '_ext_subset.so')):
        with open(meta) as f:
            old = json.load(f)
        if old.get('key') == key:
            print(f'[gpu-kit] prebuilt CUDA ops up to date ({out})')
            return 0
    shutil.rmtree(out, ignore_errors=True)
    work = osp.join(ROOT, 'build', 'gpu_kit_mmcv_cuda')
    site = osp.join(ROOT, 'build', 'gpu_kit_site')
    # torch's extension builder imports setuptools: the kit's, as on the
    # GPU machine
    wheels = [osp.join(kit, 'wheels', n) for n in os.listdir(
        osp.join(kit, 'wheels')) if n.startswith('setuptools-')]
    if not osp.isdir(osp.join(site, 'setuptools')):
        subprocess.run([sys.executable, '-m', 'pip', 'install', '-q',
                        '--no-index', '--no-deps', '--target', site]
                       + wheels, check=True)
    env = dict(os.environ, TORCH_CUDA_ARCH_LIST=arch)
    env.setdefault('MAX_JOBS', '2')
    env['PYTHONPATH'] = os.pathsep.join(
        [site] + [p for p in [env.get('PYTHONPATH')] if p])
    print(f'[gpu-kit] compiling the mmcv ops subset with CUDA for {arch} '
          f'against torch {torch.__version__} (log: {work}/build.log)')
    os.makedirs(work, exist_ok=True)
    t0 = time.time()
    with open(osp.join(work, 'build.log'), 'w') as log:
        proc = subprocess.run(
            [sys.executable, osp.join(SUBSET, 'build.py'), sdist,
             osp.join(work, 'dest'), '--build-dir', osp.join(work, 'obj')],
            stdout=log, stderr=subprocess.STDOUT, env=env)
    with open(osp.join(work, 'build.log')) as f:
        text = f.read()
    if proc.returncode != 0:
        print(f'[gpu-kit] WARNING: the prebuilt CUDA ops failed to compile '
              f'(exit {proc.returncode}; {work}/build.log); the GPU run '
              'compiles them itself', file=sys.stderr)
        return 1
    info = [json.loads(ln) for ln in text.splitlines()
            if ln.startswith('{') and ln.endswith('}')][-1]
    os.makedirs(out)
    shutil.copy2(osp.join(work, 'dest', 'mmcv', '_ext_subset.so'), out)
    info.update(key=key, torch=torch.__version__,
                torch_cuda=torch.version.cuda,
                python='.'.join(map(str, sys.version_info[:3])),
                wall_s=round(time.time() - t0, 1))
    with open(meta, 'w') as f:
        json.dump(info, f, indent=1)
    print(f'[gpu-kit] prebuilt CUDA ops: {out} ('
          f'{info["so_bytes"] / 1e6:.1f} MB, {info["wall_s"]} s, CUDA_HOME '
          f'{info["cuda_home"]})')
    return 0


def ops_ref(kit):
    import importlib
    try:
        ext = importlib.import_module('mmcv._ext')
    except ImportError as e:
        print(f'[gpu-kit] no ops reference (no full mmcv here: {e})')
        return 0
    if hasattr(ext, 'COMPILED_OPS'):
        print('[gpu-kit] no ops reference (this mmcv is a partial build)')
        return 0
    path = osp.join(kit, 'ops_ref.pt')
    subprocess.run([sys.executable, osp.join(HERE, 'ops_parity.py'),
                    '--save', path], check=True, stdout=subprocess.DEVNULL)
    print(f'[gpu-kit] ops reference of the full mmcv: {path}')
    return 0


if __name__ == '__main__':
    what, kit = sys.argv[1], osp.abspath(sys.argv[2])
    sys.exit(dict(prebuilt=prebuilt, ops_ref=ops_ref)[
        what.replace('-', '_')](kit))
