"""doltlite's own HTTP remote server, run inside this process (no binary is shipped).

The doltlite library exports ``doltliteServeAsync(dir, port, bind)``: it serves
every ``*.db`` file of a directory at ``http://bind:port/<file>.db`` from a
background thread, so other data directories can clone, fetch and push. The
protocol has no authentication in this form, so it listens on loopback only:
reach it from another machine through an SSH tunnel or an authenticating proxy.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from pathlib import Path
from types import TracebackType

from doltplane.errors import EngineUnavailable, InvalidInput, RemoteError
from doltplane.store.loader import sqlite_module

LOOPBACK = "127.0.0.1"


@functools.cache
def _library() -> ctypes.CDLL:
    sqlite_module()  # doltlite is loaded (and is this process's SQLite) first
    try:
        import doltlite

        lib = ctypes.CDLL(doltlite.libdoltlite_path())
        serve = lib.doltliteServeAsync
    except (OSError, AttributeError, ImportError) as exc:
        raise EngineUnavailable(
            f"this doltlite cannot serve remotes: {exc}".splitlines()[0],
            hint="upgrade with `pip install -U doltlite`",
        ) from None
    serve.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    serve.restype = ctypes.c_void_p
    lib.doltliteServerPort.argtypes = [ctypes.c_void_p]
    lib.doltliteServerPort.restype = ctypes.c_int
    lib.doltliteServerStop.argtypes = [ctypes.c_void_p]
    lib.doltliteServerStop.restype = None
    return lib


class RemoteServer:
    """A running server for one directory; ``url`` is its base (``<url>/ledger.db``)."""

    def __init__(self, directory: Path, port: int = 0) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise InvalidInput(f"port must be an integer from 0 to 65535, got {port!r}")
        self.directory = Path(directory).resolve()
        if not self.directory.is_dir():
            raise InvalidInput(f"not a directory: {self.directory}")
        self._lib = _library()
        self._lock = threading.Lock()
        handle = self._lib.doltliteServeAsync(str(self.directory).encode(), port, LOOPBACK.encode())
        if not handle:
            raise RemoteError(
                f"cannot serve {self.directory} on {LOOPBACK}:{port}",
                hint="the port may be in use; pick another with --port, or 0 for any free one",
            )
        self._handle: int | None = handle
        self.port = int(self._lib.doltliteServerPort(handle))
        self.url = f"http://{LOOPBACK}:{self.port}"

    @property
    def running(self) -> bool:
        return self._handle is not None

    def stop(self) -> None:
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            self._lib.doltliteServerStop(handle)

    def __enter__(self) -> RemoteServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RemoteServer {self.directory} at {self.url}>"
