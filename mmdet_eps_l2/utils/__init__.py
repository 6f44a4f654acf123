from .cpu_distributed import check_launcher, prepare_cpu_distributed
from .data_root import retarget_data_root
from .preflight import ConfigCheckError, check_config
from .safe_checkpoint import (allow_mmengine_checkpoint_globals,
                              mmengine_checkpoint_globals)
from .state_dict_match import (StateDictMatch, checkpoint_state_dict,
                               match_state_dict)

__all__ = [
    'allow_mmengine_checkpoint_globals', 'mmengine_checkpoint_globals',
    'check_launcher', 'prepare_cpu_distributed', 'ConfigCheckError',
    'check_config', 'retarget_data_root', 'StateDictMatch',
    'checkpoint_state_dict', 'match_state_dict'
]
