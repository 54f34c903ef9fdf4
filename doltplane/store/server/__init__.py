"""The Dolt sql-server engine: the planes on a real ``dolt sql-server``."""

from doltplane.store.server.engine import ServerEngine, open_server_engine

__all__ = ["ServerEngine", "open_server_engine"]
