"""Compare a checkpoint's state dict with a model before loading it.

mmengine's ``load_checkpoint(..., strict=False)`` prints one line per
missing, unexpected or mis-shaped key and carries on, so a checkpoint of
another detector loads "fine" and leaves random weights behind.  Tools that
export a model (``tools/fold_ws.py``) use :func:`match_state_dict` to refuse
such a checkpoint with one message that says how many keys disagree and
names the first few.
"""
import re
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import torch
import torch.nn as nn


@dataclass
class StateDictMatch:
    """Keys of a checkpoint compared with a model's ``state_dict()``."""
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    #: ``(key, checkpoint shape, model shape)``
    mismatched: List[Tuple[str, tuple, tuple]] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self, first: int = 3) -> str:
        """One line per kind of disagreement, with the first ``first``
        keys of each; empty when the checkpoint matches exactly."""

        def head(items):
            shown = ', '.join(items[:first])
            more = f', ... ({len(items) - first} more)' \
                if len(items) > first else ''
            return shown + more

        lines = []
        if self.missing:
            lines.append(f'{len(self.missing)} model key(s) missing from the '
                         f'checkpoint: {head(self.missing)}')
        if self.unexpected:
            lines.append(f'{len(self.unexpected)} checkpoint key(s) not in '
                         f'the model: {head(self.unexpected)}')
        if self.mismatched:
            shapes = [
                f'{k} (checkpoint {list(a)}, model {list(b)})'
                for k, a, b in self.mismatched
            ]
            lines.append(f'{len(self.mismatched)} key(s) with another shape: '
                         f'{head(shapes)}')
        return '\n'.join(lines)


def checkpoint_state_dict(checkpoint: dict) -> Dict[str, torch.Tensor]:
    """The state dict of a loaded checkpoint (``state_dict`` entry if any),
    with DDP's ``module.`` prefix removed, as mmengine's loader does."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    return {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}


def match_state_dict(model: nn.Module,
                     state_dict: Dict[str, torch.Tensor]) -> StateDictMatch:
    """Compare ``state_dict`` with ``model.state_dict()`` key by key."""
    own = model.state_dict()
    result = StateDictMatch()
    result.missing = [k for k in own if k not in state_dict]
    result.unexpected = [k for k in state_dict if k not in own]
    result.mismatched = [(k, tuple(v.shape), tuple(own[k].shape))
                         for k, v in state_dict.items()
                         if k in own and hasattr(v, 'shape')
                         and tuple(v.shape) != tuple(own[k].shape)]
    return result
