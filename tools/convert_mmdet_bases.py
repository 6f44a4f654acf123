"""Write mmdet's text base configs as pure-Python configs for this package.

    python tools/convert_mmdet_bases.py [--check]

mmdet 3.3.0's wheel ships its configs as text files only (``.mim/configs``),
and a pure-Python config can inherit only pure-Python configs.  This tool
reads the mmdet base files the shipped detectors use (each has no
``_base_`` of its own), and writes each as a pure-Python module under
``mmdet_eps_l2/configs/_base_/mmdet/`` with the same values: every ``type``
string that names a registered class becomes that class, imported from its
module (``'nms'``, a function name that mmcv's ``batched_nms`` looks up
itself, stays a string).  The files it writes say so in their header and
are not edited by hand; ``--check`` fails when they differ from what it
would write (a test runs it).
"""
import argparse
import os.path as osp
import sys
from typing import Dict, Set

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
OUT_DIR = osp.join(ROOT, 'mmdet_eps_l2', 'configs', '_base_', 'mmdet')
#: mmdet base config (under .mim/configs) -> module name written
BASES = {
    '_base_/models/mask-rcnn_r50_fpn.py': 'mask_rcnn_r50_fpn',
    '_base_/models/faster-rcnn_r50_fpn.py': 'faster_rcnn_r50_fpn',
    '_base_/models/retinanet_r50_fpn.py': 'retinanet_r50_fpn',
    '_base_/datasets/coco_instance.py': 'coco_instance',
    '_base_/datasets/coco_detection.py': 'coco_detection',
    '_base_/schedules/schedule_1x.py': 'schedule_1x',
    '_base_/default_runtime.py': 'default_runtime',
    'retinanet/retinanet_tta.py': 'retinanet_tta',
}
#: type names that are not registry classes
KEEP_AS_STRING = {'nms', 'soft_nms'}


def registered_class(name: str):
    """The class ``name`` means in mmdet's scope (mmdet's registries, then
    their parents), if exactly one registry knows it."""
    import mmdet.registry as registries
    from mmengine.registry import Registry
    found = {}
    for value in vars(registries).values():
        if isinstance(value, Registry) and value.scope == 'mmdet':
            cls = value.get(name)
            if cls is not None:
                found[id(cls)] = cls
    return next(iter(found.values())) if len(found) == 1 else None


class Writer:
    """Python source of config values, ``type`` strings as class names."""

    def __init__(self) -> None:
        self.imports: Dict[str, Set[str]] = {}

    def class_name(self, name: str) -> str:
        cls = registered_class(name) if name not in KEEP_AS_STRING else None
        if cls is None:
            return repr(name)
        module = cls.__module__
        self.imports.setdefault(module, set()).add(cls.__name__)
        return cls.__name__

    def value(self, v, indent: int) -> str:
        pad = ' ' * (indent + 4)
        if isinstance(v, dict):
            if not v:
                return 'dict()'
            items = []
            for k, x in v.items():
                text = self.class_name(x) if k == 'type' and \
                    isinstance(x, str) else self.value(x, indent + 4)
                items.append(f'{pad}{k}={text}')
            return 'dict(\n' + ',\n'.join(items) + ')'
        if isinstance(v, list):
            if all(not isinstance(x, (dict, list, tuple)) for x in v):
                return '[' + ', '.join(self.value(x, indent) for x in v) + ']'
            return '[\n' + ',\n'.join(
                pad + self.value(x, indent + 4) for x in v) + '\n' + \
                ' ' * indent + ']'
        if isinstance(v, tuple):
            inner = ', '.join(self.value(x, indent + 4) for x in v)
            return f'({inner}{"," if len(v) == 1 else ""})'
        return repr(v)

    def header(self) -> str:
        lines = []
        for module in sorted(self.imports):
            names = ', '.join(sorted(self.imports[module]))
            lines.append(f'from {module} import {names}')
        return '\n'.join(lines)


def convert(text_config: str, source: str) -> str:
    """The pure-Python module of one mmdet base config."""
    from mmengine.config import Config
    cfg = Config.fromfile(text_config)
    writer = Writer()
    body = [
        f'{key} = {writer.value(value, 0)}'
        for key, value in cfg._cfg_dict.to_dict().items()
    ]
    return ('# GENERATED FILE, written by `python tools/convert_mmdet_bases.py`\n'
            f"# from mmdet 3.3.0's {source}\n"
            '# (same values, registered types as classes); do not edit: run '
            'that command again.\n'
            f'{writer.header()}\n\n' + '\n'.join(body) + '\n')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--check', action='store_true',
                        help='fail if a written file differs')
    args = parser.parse_args(argv)
    from mmengine.registry import init_default_scope
    from mmengine.utils import get_installed_path

    import mmdet_eps_l2  # noqa: F401
    init_default_scope('mmdet')
    configs = osp.join(get_installed_path('mmdet'), '.mim', 'configs')
    stale = []
    for source, module in BASES.items():
        text = convert(osp.join(configs, source), source)
        path = osp.join(OUT_DIR, f'{module}.py')
        if args.check:
            if not osp.isfile(path) or open(path).read() != text:
                stale.append(path)
            continue
        with open(path, 'w') as f:
            f.write(text)
        print(path)
    if stale:
        print('convert_mmdet_bases: out of date (run the tool): ' +
              ', '.join(stale))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
