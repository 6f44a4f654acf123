"""``python tools/check.py ...`` = ``python -m mmdet_eps_l2.tools.check ...``
(:mod:`mmdet_eps_l2.tools.check`, installed with the package)."""
import sys

from mmdet_eps_l2.tools.check import main

if __name__ == '__main__':
    sys.exit(main())
