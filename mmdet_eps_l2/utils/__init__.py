"""Small helpers of the tools that know no registry."""
from .cpu_distributed import check_launcher, init_distributed
from .data_root import retarget_data_root
from .state_dict_match import (StateDictMatch, checkpoint_state_dict,
                               match_state_dict)

__all__ = [
    'check_launcher', 'init_distributed', 'retarget_data_root',
    'StateDictMatch', 'checkpoint_state_dict', 'match_state_dict'
]
