from .cpu_distributed import prepare_cpu_distributed
from .preflight import ConfigCheckError, check_config
from .safe_checkpoint import (allow_mmengine_checkpoint_globals,
                              mmengine_checkpoint_globals)

__all__ = [
    'allow_mmengine_checkpoint_globals', 'mmengine_checkpoint_globals',
    'prepare_cpu_distributed', 'ConfigCheckError', 'check_config'
]
