"""Build the part of mmcv 2.1.0 that the detectors need, from mmcv's sources.

    python build.py MMCV_SDIST DEST [--cpu-only] [--build-dir DIR]

A full mmcv build compiles about 136 files (5-8 minutes on 16 cores).  Mask
R-CNN, Faster R-CNN and RetinaNet call only these compiled ops of
``mmcv._ext``:

* ``nms`` (mmcv's ``nms`` / ``batched_nms``: RPN proposals, test-time NMS);
* ``roi_align_forward`` / ``roi_align_backward`` (box and mask RoI
  extractors, mask targets);
* ``sigmoid_focal_loss_forward`` / ``sigmoid_focal_loss_backward``
  (RetinaNet's ``FocalLoss`` on CUDA);
* ``get_compiler_version`` / ``get_compiling_cuda_version`` (environment
  report).

This script compiles mmcv's own sources of exactly these (the device
dispatchers of ``csrc/pytorch/{nms,roi_align,focal_loss,info}.cpp``, the
CPU kernels of ``csrc/pytorch/cpu/{nms,roi_align}.cpp`` and, unless
``--cpu-only``, the CUDA kernels of ``csrc/pytorch/cuda/{nms,roi_align,
focal_loss}_cuda.cu``), plus two small glue files of this folder: the
Python bindings (``subset_pybind.cpp``, mmcv's names and keywords) and the
CUDA registrations (``subset_cudabind.cpp``).

It writes ``DEST/mmcv/``: mmcv's Python package from the source, the
compiled ``_ext_subset.so``, and ``_ext.py``, which re-exports the compiled
ops and answers every other op name with a function that raises
``NotImplementedError`` naming the op (``mmcv.ops`` checks at import that
every op name exists).  Put ``DEST`` first on ``PYTHONPATH``.

Two header gaps are filled where they occur (and listed in the printed
``compat_headers``): ``THC/THCAtomics.cuh``, which mmcv 2.1.0 includes and
recent torch builds lack (forwarded to ``ATen/cuda/Atomic.cuh``), and the
cuSPARSE / cuBLAS / cuSOLVER headers torch's CUDA headers include, for a
toolkit without them (the handle and status types only).
"""
import argparse
import glob
import os
import os.path as osp
import shutil
import sys
import tarfile
import time

HERE = osp.dirname(osp.abspath(__file__))
COMPILED_OPS = ('nms', 'roi_align_forward', 'roi_align_backward',
                'sigmoid_focal_loss_forward', 'sigmoid_focal_loss_backward',
                'get_compiler_version', 'get_compiling_cuda_version')
# mmcv's sources, relative to mmcv/ops/csrc/pytorch
DISPATCH_SOURCES = ('nms.cpp', 'roi_align.cpp', 'focal_loss.cpp', 'info.cpp')
CPU_SOURCES = ('cpu/nms.cpp', 'cpu/roi_align.cpp')
CUDA_SOURCES = ('cuda/nms_cuda.cu', 'cuda/roi_align_cuda.cu',
                'cuda/focal_loss_cuda.cu')

SHIM = '''"""mmcv._ext of a partial build (benchmarks/gpu_e2e/mmcv_ops_subset).

Compiled from mmcv {version}'s sources: {ops} ({devices}).
Any other op (every op while the compiled module is missing) is a function
that raises NotImplementedError naming it.
"""
import torch  # noqa: F401  (the compiled ops link against torch)

try:
    from mmcv._ext_subset import *  # noqa: F401,F403
    COMPILED_OPS = {ops_tuple!r}
    DEVICES = {devices!r}
except ImportError as e:  # not compiled (yet): mmcv.ops still imports
    COMPILED_OPS, DEVICES, _MISSING = (), (), str(e)


def __getattr__(name):
    if name.startswith('__'):
        raise AttributeError(name)

    def not_compiled(*args, **kwargs):
        raise NotImplementedError(
            f'mmcv op {{name!r}} is not in this partial build of mmcv._ext '
            f'(compiled: {{", ".join(COMPILED_OPS) or "none, " + _MISSING}}); '
            'install a full mmcv build (MMCV_WITH_OPS=1) for it')

    not_compiled.__name__ = name
    return not_compiled
'''


def extract_mmcv(sdist: str, workdir: str) -> str:
    """The unpacked source tree (``.../mmcv-2.1.0``) of an sdist or dir;
    an sdist already unpacked in ``workdir`` by an earlier build is reused."""
    if osp.isdir(sdist):
        return sdist

    def unpacked():
        return [d for d in os.listdir(workdir) if d.startswith('mmcv-')] \
            if osp.isdir(workdir) else []

    if not unpacked():
        os.makedirs(workdir, exist_ok=True)
        with tarfile.open(sdist) as tar:
            tar.extractall(workdir, filter='data') if hasattr(
                tarfile, 'data_filter') else tar.extractall(workdir)
    (top, ) = unpacked()
    return osp.join(workdir, top)


def unique_sources(csrc: str, relative, into: str):
    """Links with unique names (``cpu/nms.cpp`` -> ``cpu__nms.cpp``): the
    extension builder names object files after the file's base name."""
    os.makedirs(into, exist_ok=True)
    paths = []
    for rel in relative:
        link = osp.join(into, rel.replace('/', '__'))
        if osp.lexists(link):
            os.remove(link)
        os.symlink(osp.join(csrc, 'pytorch', rel), link)
        paths.append(link)
    return paths


def install_python_package(src: str, dest: str, devices) -> str:
    """``DEST/mmcv``: mmcv's Python package (no C++ sources) and the
    ``_ext.py`` shim.  Returns mmcv's version."""
    target = osp.join(dest, 'mmcv')
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(osp.join(src, 'mmcv'), target,
                    ignore=shutil.ignore_patterns('csrc'))
    version = {}
    with open(osp.join(src, 'mmcv', 'version.py')) as f:
        exec(f.read(), version)
    with open(osp.join(target, '_ext.py'), 'w') as f:
        f.write(SHIM.format(version=version['__version__'],
                            ops=', '.join(COMPILED_OPS),
                            ops_tuple=COMPILED_OPS, devices=tuple(devices)))
    return version['__version__']


def cuda_library_headers():
    """Include folders of CUDA libraries installed as Python packages
    (``nvidia/*/include``), for toolkits without cuSPARSE / cuBLAS
    headers: torch's CUDA headers include them."""
    found = []
    for entry in sys.path:
        found += sorted(glob.glob(osp.join(entry, 'nvidia', '*', 'include')))
    return found


def thc_compat_header(build_dir: str) -> list:
    """mmcv 2.1.0's ``pytorch_cuda_helper.hpp`` includes
    ``THC/THCAtomics.cuh``, which recent torch builds no longer ship; its
    content moved to ``ATen/cuda/Atomic.cuh``.  Writes a one-line
    forwarding header when torch has none; returns what it wrote."""
    from torch.utils.cpp_extension import include_paths
    if any(osp.exists(osp.join(p, 'THC', 'THCAtomics.cuh'))
           for p in include_paths()):
        return []
    path = osp.join(build_dir, 'compat', 'THC', 'THCAtomics.cuh')
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('#pragma once\n#include <ATen/cuda/Atomic.cuh>\n')
    return ['THC/THCAtomics.cuh -> ATen/cuda/Atomic.cuh']


# torch's CUDA headers name these libraries' handle and status types; the
# subset's kernels call none of them
LIBRARY_STUBS = {
    'cusparse.h': 'typedef struct cusparseContext *cusparseHandle_t;\n'
                  'typedef int cusparseStatus_t;\n',
    'cublas_v2.h': 'typedef struct cublasContext *cublasHandle_t;\n'
                   'typedef int cublasStatus_t;\n',
    'cublasLt.h': 'typedef struct cublasLtContext *cublasLtHandle_t;\n',
    'cusolverDn.h': 'typedef struct cusolverDnContext *cusolverDnHandle_t;\n',
    'cusolver_common.h': 'typedef int cusolverStatus_t;\n',
}


def library_stub_headers(build_dir: str, include: list) -> list:
    """For a CUDA toolkit without the cuSPARSE / cuBLAS / cuSOLVER headers
    (and no ``nvidia-*`` wheels that carry them): declarations of the two
    types per library that torch's headers mention.  Only for headers found
    nowhere; returns what it wrote."""
    from torch.utils.cpp_extension import CUDA_HOME, include_paths
    toolkit = CUDA_HOME or '/usr/local/cuda'
    dirs = include_paths() + include + [osp.join(toolkit, 'include')]
    written = []
    for name, text in LIBRARY_STUBS.items():
        if any(osp.exists(osp.join(d, name)) for d in dirs):
            continue
        path = osp.join(build_dir, 'compat', name)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write('#pragma once\n// stand-in declarations (see build.py)\n'
                    + text)
        written.append(f'{name} (stand-in declarations)')
    return written


def build(sdist: str, dest: str, cuda: bool, build_dir: str) -> dict:
    import torch
    from torch.utils.cpp_extension import load

    t0 = time.time()
    # absolute: the source links must resolve from inside build_dir
    build_dir, dest = osp.abspath(build_dir), osp.abspath(dest)
    work = osp.join(build_dir, 'src')
    src = extract_mmcv(sdist, work)
    devices = ('cpu', 'cuda') if cuda else ('cpu', )
    # mmcv's Python package first (usable at once, without mmcv.ops), then
    # the compiled ops
    version = install_python_package(src, dest, devices)
    csrc = osp.join(src, 'mmcv', 'ops', 'csrc')
    rel = DISPATCH_SOURCES + CPU_SOURCES + (CUDA_SOURCES if cuda else ())
    sources = unique_sources(csrc, rel, osp.join(build_dir, 'sources'))
    sources.append(osp.join(HERE, 'subset_pybind.cpp'))
    if cuda:
        sources.append(osp.join(HERE, 'subset_cudabind.cpp'))
    include = [osp.join(csrc, d) for d in ('common', 'common/cuda',
                                           'pytorch', 'pytorch/cpu',
                                           'pytorch/cuda')]
    compat = []
    if cuda:
        include += cuda_library_headers()
        compat = thc_compat_header(build_dir) + \
            library_stub_headers(build_dir, include)
        include += [osp.join(build_dir, 'compat')] if compat else []
    macros = ['-DMMCV_WITH_CUDA'] if cuda else []
    if cuda and 'TORCH_CUDA_ARCH_LIST' not in os.environ:
        major, minor = torch.cuda.get_device_capability()
        os.environ['TORCH_CUDA_ARCH_LIST'] = f'{major}.{minor}'
    os.environ.setdefault('MAX_JOBS', str(os.cpu_count() or 2))
    ldflags = []
    if cuda:  # find this toolkit's libcudart when torch has not loaded one
        from torch.utils.cpp_extension import CUDA_HOME
        lib = osp.join(CUDA_HOME or '/usr/local/cuda', 'lib64')
        ldflags = [f'-Wl,-rpath,{lib}']
    module = load(name='_ext_subset', sources=sources,
                  extra_include_paths=include,
                  extra_cflags=['-O2'] + macros,
                  extra_cuda_cflags=macros, extra_ldflags=ldflags,
                  build_directory=build_dir,
                  with_cuda=cuda, verbose=True)
    t_compile = time.time() - t0
    shutil.copy2(module.__file__, osp.join(dest, 'mmcv', '_ext_subset.so'))
    return dict(mmcv_version=version, devices=list(devices),
                compiled_ops=list(COMPILED_OPS),
                sources=[*(f'mmcv/ops/csrc/pytorch/{r}' for r in rel),
                         'subset_pybind.cpp'] +
                (['subset_cudabind.cpp'] if cuda else []),
                arch=os.environ.get('TORCH_CUDA_ARCH_LIST') if cuda else None,
                jobs=int(os.environ['MAX_JOBS']), compat_headers=compat,
                seconds=round(t_compile, 1))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0])
    parser.add_argument('sdist', help='mmcv-2.1.0.tar.gz or its unpacked '
                        'source folder')
    parser.add_argument('dest', help='DEST/mmcv/ is written')
    parser.add_argument('--cpu-only', action='store_true',
                        help='compile the CPU kernels only')
    parser.add_argument('--build-dir', help='compiler output (default: '
                        'DEST/build)')
    args = parser.parse_args(argv)
    build_dir = args.build_dir or osp.join(args.dest, 'build')
    os.makedirs(build_dir, exist_ok=True)
    info = build(args.sdist, args.dest, not args.cpu_only, build_dir)
    import json
    print(json.dumps(info))
    return 0


if __name__ == '__main__':
    sys.exit(main())
