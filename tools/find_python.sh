#!/usr/bin/env bash
# Sourced by the shell tools: sets PYTHON to the interpreter that runs them,
# and TORCHRUN, torchrun's main for `"$PYTHON" -c "$TORCHRUN" ARGS...`: a
# rank that exits non-zero (a refused config, each rank having said why)
# ends it with that status and no traceback of torchrun's own.
#
#   PYTHON=/path/to/python bash tools/dist_train.sh ...   # explicit choice
#
# Without PYTHON: the project's environment (.venv, made by `make install`)
# when it exists, else python3 / python on PATH.  Stops with a message
# saying what to do when that interpreter cannot import torch, mmengine
# and mmdet.
_TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$_TOOLS_DIR/../.venv/bin/python" ]; then
    PYTHON="$_TOOLS_DIR/../.venv/bin/python"
  else
    PYTHON="$(command -v python3 || command -v python || echo python3)"
  fi
fi
if ! "$PYTHON" -c 'import torch.distributed.run, mmengine, mmdet' >/dev/null 2>&1; then
  echo "$(basename "$0"): $PYTHON cannot import torch, mmengine and mmdet." >&2
  echo "  Run 'make install' in $(cd "$_TOOLS_DIR/.." && pwd) (creates .venv, used by default)," >&2
  echo "  activate the environment that has them, or set PYTHON=/path/to/python." >&2
  exit 2
fi
TORCHRUN='import sys
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import main
try:
    main(sys.argv[1:])
except ChildFailedError as e:
    sys.exit(e.get_first_failure()[1].exitcode or 1)'
