"""Silence a warning no user can act on, in this package's tools only
(called when a tool runs; importing the package sets no filter).

mmengine 0.10.7 reloads ``pkg_resources`` each time it checks whether a
package is installed (``mmdet::`` config prefixes, environment collection),
and setuptools ≥ 67 warns ``pkg_resources is deprecated as an API`` every
time.  :func:`silence_known_noise` filters exactly that Python warning.
"""
import warnings

#: message prefixes of Python warnings filtered by silence_known_noise
KNOWN_NOISE = ('pkg_resources is deprecated as an API', )


def silence_known_noise() -> None:
    """Ignore the warnings listed in :data:`KNOWN_NOISE` (idempotent)."""
    for message in KNOWN_NOISE:
        warnings.filterwarnings('ignore', message=message)
