"""One setting for where the data lies: ``--cfg-options data_root=...``.

mmdet configs spell the data root into every dataset (``data_root``) and
every evaluator (``ann_file=data_root + '...'``) when the file is read, so
overriding the top-level ``data_root`` afterwards changes nothing.
:func:`retarget_data_root` moves all of them at once: every ``data_root``
equal to the old root, and every ``ann_file`` that starts with it.
"""
from typing import Any


def retarget_data_root(cfg: Any, old_root: str, new_root: str) -> int:
    """In place: replace ``old_root`` by ``new_root`` in every ``data_root``
    value equal to it and at the start of every ``ann_file`` under it.

    ``cfg`` is a config (``mmengine.Config`` or a dict / list tree).
    Returns the number of values changed.
    """
    if not old_root or old_root == new_root:
        return 0
    if old_root.endswith('/') and not new_root.endswith('/'):
        new_root += '/'  # ann_file = data_root + 'annotations/...'
    changed = 0
    seen = set()

    def visit(node):
        nonlocal changed
        if id(node) in seen:  # shared sub-trees (test = val) once only
            return
        seen.add(id(node))
        if isinstance(node, dict):
            for key in list(node.keys()):
                value = node[key]
                if key == 'data_root' and value == old_root:
                    node[key] = new_root
                    changed += 1
                elif key == 'ann_file' and isinstance(value, str) and \
                        value.startswith(old_root):
                    node[key] = new_root + value[len(old_root):]
                    changed += 1
                else:
                    visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value)

    visit(getattr(cfg, '_cfg_dict', cfg))
    return changed
