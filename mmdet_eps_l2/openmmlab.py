"""Whether the OpenMMLab stack (mmengine, mmcv, mmdet) is installed.

Without it, :mod:`mmdet_eps_l2.ops` (and the torch-only step hook) still
import and run; the registrations, configs and tools need it."""
from importlib.util import find_spec

#: True when mmengine, mmcv and mmdet can be imported
OPENMMLAB = all(
    find_spec(name) is not None for name in ('mmengine', 'mmcv', 'mmdet'))
