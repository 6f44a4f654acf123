"""Let ``torch.load(weights_only=True)`` read mmengine's own checkpoints.

torch >= 2.6 loads with ``weights_only=True`` and refuses any class it does
not know; checkpoints saved by an mmengine 0.10 ``Runner`` hold a few more
(the message hub's ``HistoryBuffer``, numpy arrays, dtypes and scalars).
Instead of switching the check off, :func:`allow_mmengine_checkpoint_globals`
adds exactly those classes to torch's allow-list
(``torch.serialization.add_safe_globals``).  Anything else in a file is
still refused.
"""
from typing import List

import numpy as np
import torch


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
         'uint8', 'bool')
    ]
    return [HistoryBuffer, _reconstruct, scalar, np.ndarray, np.dtype
            ] + dtype_classes


def allow_mmengine_checkpoint_globals() -> None:
    """Add :func:`mmengine_checkpoint_globals` to torch's allow-list."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch < 2.4 has no allow-list and no such check
        add(mmengine_checkpoint_globals())
