"""Silence output no user can act on, in this package's tools only (called
when a tool runs; importing the package sets no filter).

* mmengine 0.10.7 reloads ``pkg_resources`` each time it checks whether a
  package is installed (``mmdet::`` config prefixes, environment
  collection), and setuptools ≥ 67 warns ``pkg_resources is deprecated as
  an API`` every time.  :func:`silence_known_noise` filters exactly that
  Python warning.
* A Runner logs, besides the environment, the config, the losses and this
  plugin's tables, a ~100-line table of hook priorities, a note about
  SyncBN on a single process and deprecation warnings of mmengine's own
  ``FileClient`` and a warning about ``save_best`` after an evaluation
  without results (also when no ``save_best`` is set).
  :func:`quiet_runner_logs` drops exactly those records
  (:data:`RUNNER_LOG_NOISE`) from every ``MMLogger``; this package's tools
  call it, ``--verbose-log`` keeps everything.
"""
import warnings

#: message prefixes of Python warnings filtered by silence_known_noise
KNOWN_NOISE = ('pkg_resources is deprecated as an API', )
#: message prefixes of mmengine log records dropped by quiet_runner_logs
RUNNER_LOG_NOISE = (
    'Hooks will be executed in the following order',
    'Distributed training is not used, all SyncBatchNorm',
    '"FileClient" will be deprecated in future',
    '"HardDiskBackend" is the alias of "LocalBackend"',
    # CheckpointHook, after an evaluation without results, even when no
    # save_best is set; CocoMetric has already said the results are empty
    'Since `metrics` is an empty dict, the behavior to save the best',
)


def silence_known_noise() -> None:
    """Ignore the warnings listed in :data:`KNOWN_NOISE` (idempotent)."""
    for message in KNOWN_NOISE:
        warnings.filterwarnings('ignore', message=message)


def is_runner_log_noise(record) -> bool:
    """Whether a log record is one of :data:`RUNNER_LOG_NOISE`."""
    return str(record.msg).startswith(RUNNER_LOG_NOISE)


def quiet_runner_logs() -> None:
    """Drop :data:`RUNNER_LOG_NOISE` from every ``MMLogger`` of this
    process (idempotent).  MMLogger instances are made inside the Runner,
    after a caller could attach a ``logging.Filter`` to them, so the filter
    sits in ``MMLogger.callHandlers``, through which each record passes."""
    from mmengine.logging import MMLogger
    if getattr(MMLogger.callHandlers, 'drops_runner_log_noise', False):
        return
    call_handlers = MMLogger.callHandlers

    def callHandlers(self, record):
        if not is_runner_log_noise(record):
            call_handlers(self, record)

    callHandlers.drops_runner_log_noise = True
    MMLogger.callHandlers = callHandlers
