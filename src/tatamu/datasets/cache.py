"""Where downloaded datasets live: the per-user cache folder, never the package folder.

The book's ``dataset/mnist.py`` saves its download and a pickle next to the source code, which
fails in a read-only site-packages and mixes data with code. tatamu downloads into a per-user
cache instead, chosen in one place (this module) so the loaders, the downloader and the CLI agree.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DataError
from ..i18n import _

#: Environment variable that overrides the cache folder (wins over ``XDG_CACHE_HOME``).
CACHE_ENV = "TATAMU_CACHE"

#: The installed package folder, which must never be written to.
PACKAGE_DIR = Path(__file__).resolve().parent.parent


def user_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return tatamu's cache folder (not created here).

    Order: ``cache_dir`` if given, else ``$TATAMU_CACHE``, else ``$XDG_CACHE_HOME/tatamu``,
    else ``~/.cache/tatamu``. Empty environment variables count as unset.

    Raises
    ------
    DataError
        If the folder is inside the installed package (tatamu never writes there).

    Examples
    --------
    >>> user_cache_dir("/tmp/my-cache")
    PosixPath('/tmp/my-cache')
    """
    if cache_dir is not None:
        path = Path(cache_dir).expanduser()
    elif os.environ.get(CACHE_ENV):
        path = Path(os.environ[CACHE_ENV]).expanduser()
    elif os.environ.get("XDG_CACHE_HOME"):
        path = Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "tatamu"
    else:
        path = Path.home() / ".cache" / "tatamu"
    resolved = path.resolve()
    if resolved == PACKAGE_DIR or PACKAGE_DIR in resolved.parents:
        raise DataError(_("cache folder {path} is inside the tatamu package ({package_dir}); "
                          "choose another with cache_dir= or ${cache_env}",
                          path=path, package_dir=PACKAGE_DIR, cache_env=CACHE_ENV))
    return path
