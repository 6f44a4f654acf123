"""``python tools/fold_ws.py ...`` = ``python -m mmdet_eps_l2.tools.fold_ws ...``
(:mod:`mmdet_eps_l2.tools.fold_ws`, installed with the package)."""
import sys

from mmdet_eps_l2.tools.fold_ws import *  # noqa: F401,F403
from mmdet_eps_l2.tools.fold_ws import main

if __name__ == '__main__':
    sys.exit(main())
