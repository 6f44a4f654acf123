"""The command-line tools, installed with the package:
``python -m mmdet_eps_l2.tools.train`` / ``.test`` / ``.fold_ws`` /
``.generate_toy_coco`` take the same flags as ``tools/*.py`` of the
repository.  Their warning filters and log quieting (:mod:`.quiet`) are set
by the tools when they run, never by importing the package."""
