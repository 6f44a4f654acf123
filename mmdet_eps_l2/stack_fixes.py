"""Let ``torch.load(weights_only=True)`` read mmengine's own checkpoints.

torch >= 2.6 loads with ``weights_only=True`` and refuses any class it does
not know; checkpoints saved by an mmengine 0.10 ``Runner`` hold a few more
(the message hub's ``HistoryBuffer``, numpy arrays, dtypes and scalars).
Instead of switching the check off, :func:`allow_mmengine_checkpoint_globals`
adds exactly those classes to torch's allow-list
(``torch.serialization.add_safe_globals``).  Anything else in a file is
still refused.

One of them needs care: a ``HistoryBuffer`` pickles its statistic methods
as ``getattr(HistoryBuffer, 'min')`` (and ``max``, ``current``, ``mean``).
Allowing ``builtins.getattr`` itself would let a file reach any attribute
of any allowed class, so the name ``builtins.getattr`` is mapped to
:func:`history_buffer_getattr`, which resolves exactly those four look-ups
and refuses everything else.
"""
import pickle
from typing import List

import numpy as np
import torch

#: the statistic methods a pickled HistoryBuffer refers to
HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')


def history_buffer_getattr(obj, name: str):
    """``getattr`` limited to ``HistoryBuffer.<min|max|current|mean>``."""
    from mmengine.logging import HistoryBuffer
    if obj is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refused getattr({obj!r}, {name!r}) while loading a checkpoint: '
        'only HistoryBuffer statistic methods are allowed')


def mmengine_checkpoint_globals() -> List[object]:
    """The classes and functions mmengine 0.10 runner checkpoints hold."""
    from mmengine.logging import HistoryBuffer
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [
        type(np.dtype(name)) for name in
        ('float64', 'float32', 'float16', 'int64', 'int32', 'int16', 'int8',
         'uint8', 'uint16', 'uint32', 'uint64', 'bool')
    ]
    return [HistoryBuffer, _reconstruct, scalar, np.ndarray, np.dtype
            ] + dtype_classes


def allow_mmengine_checkpoint_globals() -> None:
    """Add :func:`mmengine_checkpoint_globals` to torch's allow-list, and
    ``builtins.getattr`` as :func:`history_buffer_getattr`."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4 has no allow-list and no such check
        return
    add(mmengine_checkpoint_globals())
    add([(history_buffer_getattr, 'builtins.getattr')])
