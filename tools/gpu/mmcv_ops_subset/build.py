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

The CUDA toolkit is the one ``find_cuda_home`` resolves (an ``nvcc`` on
``PATH`` may be a wrapper script: torch would take the folder above the
script's ``bin/``); the JSON line names it and how it was found.
"""
import argparse
import glob
import json
import os
import os.path as osp
import shutil
import sys
import re
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

SHIM = '''"""mmcv._ext of a partial build (tools/gpu/mmcv_ops_subset).

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
    write_shim(target, version['__version__'], devices)
    return version['__version__']


def write_shim(target, version, devices):
    with open(osp.join(target, '_ext.py'), 'w') as f:
        f.write(SHIM.format(version=version, ops=', '.join(COMPILED_OPS),
                            ops_tuple=COMPILED_OPS, devices=tuple(devices)))


def is_toolkit(folder) -> bool:
    """A CUDA toolkit: a compiled ``bin/nvcc`` (not a wrapper script) and
    the compiler's own headers (``include/crt/host_defines.h``)."""
    if not folder:
        return False
    nvcc = osp.join(folder, 'bin', 'nvcc')
    if not (osp.isfile(nvcc) and osp.isfile(
            osp.join(folder, 'include', 'crt', 'host_defines.h'))):
        return False
    with open(nvcc, 'rb') as f:
        return f.read(4) == b'\x7fELF'


def script_targets(path):
    """Absolute ``.../bin/nvcc`` paths named in a wrapper script."""
    try:
        with open(path, 'rb') as f:
            head = f.read(4096)
    except OSError:
        return []
    if not head.startswith(b'#!'):
        return []
    return re.findall(r'(/[^\s"\';]*/bin/nvcc)\b',
                      head.decode(errors='ignore'))


def find_cuda_home(environ=None, defaults=None):
    """``(folder, how)`` of the CUDA toolkit to compile with, or
    ``(None, why)``.  In order: ``CUDA_HOME`` / ``CUDA_PATH`` when they are
    a toolkit; the ``nvcc`` on ``PATH`` with its links resolved, and the
    ``nvcc`` a wrapper script there executes; ``/usr/local/cuda``, then
    the newest ``/usr/local/cuda-*``.  A candidate counts only with a
    compiled ``bin/nvcc`` and ``include/crt/host_defines.h``."""
    environ = os.environ if environ is None else environ
    tried = []
    for var in ('CUDA_HOME', 'CUDA_PATH'):
        if environ.get(var):
            if is_toolkit(environ[var]):
                return environ[var], f'${var}'
            tried.append(f'${var}={environ[var]}')
    on_path = shutil.which('nvcc', path=environ.get('PATH'))
    if on_path:
        real = osp.realpath(on_path)
        home = osp.dirname(osp.dirname(real))
        if is_toolkit(home):
            return home, f'nvcc on PATH ({on_path})' + (
                f' -> {real}' if real != on_path else '')
        for target in script_targets(real):
            home = osp.dirname(osp.dirname(osp.realpath(target)))
            if is_toolkit(home):
                return home, f'nvcc on PATH ({on_path}) is a script that ' \
                    f'runs {target}'
        tried.append(f'nvcc on PATH ({on_path})')
    if defaults is None:
        defaults = ['/usr/local/cuda'] + sorted(
            glob.glob('/usr/local/cuda-*'), reverse=True)
    for home in defaults:
        if is_toolkit(home):
            return home, f'{home} (default location)'
    return None, 'no CUDA toolkit (bin/nvcc and include/crt/' \
        'host_defines.h) found; tried ' + (', '.join(tried) or 'nothing')


def use_cuda_home(home):
    """Make torch's extension builder use ``home`` (it reads CUDA_HOME when
    ``torch.utils.cpp_extension`` is first imported)."""
    os.environ['CUDA_HOME'] = home
    if osp.join(home, 'bin') not in os.environ.get('PATH', '').split(
            os.pathsep):
        os.environ['PATH'] = osp.join(home, 'bin') + os.pathsep + \
            os.environ.get('PATH', '')
    mod = sys.modules.get('torch.utils.cpp_extension')
    if mod is not None:
        mod.CUDA_HOME = home


def own_build_dir(build_dir):
    """Wait for any other build.py on ``build_dir`` (an flock, released when
    its process ends, killed or not), then remove the ``lock`` file torch's
    extension builder leaves behind when killed: every builder of this
    folder holds the flock first, so a ``lock`` seen while holding it is
    stale (torch would wait on it forever).  Returns (the open flock file,
    whether a stale lock was removed)."""
    import fcntl
    os.makedirs(build_dir, exist_ok=True)
    handle = open(osp.join(build_dir, '.build.flock'), 'w')
    fcntl.flock(handle, fcntl.LOCK_EX)
    stale = osp.join(build_dir, 'lock')
    removed = osp.exists(stale)
    if removed:
        os.remove(stale)
    return handle, removed


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
    t0 = time.time()
    cuda_home = how = None
    if cuda:  # before torch's extension builder reads CUDA_HOME
        cuda_home, how = find_cuda_home()
        if cuda_home:
            use_cuda_home(cuda_home)
    import torch

    # absolute: the source links must resolve from inside build_dir
    build_dir, dest = osp.abspath(build_dir), osp.abspath(dest)
    work = osp.join(build_dir, 'src')
    src = extract_mmcv(sdist, work)
    devices = ('cpu', 'cuda') if cuda else ('cpu', )
    # mmcv's Python package first (usable at once, without mmcv.ops), then
    # the compiled ops
    version = install_python_package(src, dest, devices)
    info = dict(mmcv_version=version, devices=list(devices),
                compiled_ops=list(COMPILED_OPS))
    if cuda and not cuda_home:
        raise SystemExit(f'build.py: {how}')
    info['cuda_home'] = cuda_home
    info['cuda_home_found_by'] = how
    from torch.utils.cpp_extension import CUDA_HOME, load
    if cuda and CUDA_HOME != cuda_home:
        raise SystemExit(f'build.py: torch uses CUDA_HOME={CUDA_HOME}, not '
                         f'the toolkit {cuda_home}')
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
        lib = osp.join(cuda_home, 'lib64')
        ldflags = [f'-Wl,-rpath,{lib}']
    flock, info['stale_lock_removed'] = own_build_dir(build_dir)
    module = load(name='_ext_subset', sources=sources,
                  extra_include_paths=include,
                  extra_cflags=['-O2'] + macros,
                  extra_cuda_cflags=macros, extra_ldflags=ldflags,
                  build_directory=build_dir,
                  with_cuda=cuda, verbose=True)
    t_compile = time.time() - t0
    shutil.copy2(module.__file__, osp.join(dest, 'mmcv', '_ext_subset.so'))
    flock.close()
    size = osp.getsize(module.__file__)
    return dict(info, so_bytes=size,
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
    print(json.dumps(info))
    return 0


if __name__ == '__main__':
    sys.exit(main())
