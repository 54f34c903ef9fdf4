"""Every error doltplane raises, under one root.

The tree (the CLI exit code of each class in brackets)::

    DoltplaneError                     [1]
    ├── InvalidInput (ValueError)      [3]  bad input from the caller; nothing was written
    │   ├── InvalidId                       id too long, empty, or with control chars
    │   ├── InvalidDocument                 malformed JSON/TOML/YAML, or not the shape required
    │   ├── InvalidRevision                 unknown or malformed revision, timestamp outside history
    │   ├── InvalidBranchName               a branch name Dolt or git would refuse
    │   ├── UnsafePath                      a path that escapes its folder
    │   ├── CatalogInvalid                  federation files that fail validation
    │   ├── RulesInvalid                    an alert rules file, as ``path:line: message``
    │   ├── QueryTimeout                    a read-only query ran past query_timeout_seconds
    │   └── ConstraintViolation             a pack table write broke a rule; nothing was written
    │       ├── UniqueViolation                 a unique key already holds the value
    │       ├── CheckViolation                  a CHECK constraint refused the row
    │       ├── ForeignKeyViolation             a referenced row does not exist
    │       └── IllegalTransition               a status change the pack's state machine forbids
    ├── NotFound (LookupError)         [4]  unknown id, name, branch or file
    ├── VersionConflict                [5]  optimistic concurrency: expected version is stale
    ├── MergeConflict                  [6]  an operation needs a clean merge and has conflicts
    ├── EngineError                    [7]  the database engine failed
    │   ├── EngineUnavailable               engine cannot be loaded or reached
    │   │   ├── ServerUnreachable               nothing answers MySQL at the URL's host and port
    │   │   ├── ServerAuthFailed                the server refused the user or password
    │   │   ├── DatabaseMissing                 the server has no database of that name
    │   │   ├── NotADoltServer                  a MySQL-speaking server that is not Dolt
    │   │   └── ServerStartFailed               a supervised server did not come up
    │   ├── ServerReadOnly                  the server answers but refuses writes
    │   ├── SupervisorBusy                  another supervisor owns the data directory or port
    │   ├── NotADoltDatabase                a file made by plain SQLite (or not a database)
    │   ├── DatabaseBusy                    still locked after the bounded retries
    │   └── UnsupportedOperation            the engine lacks the capability asked for
    ├── ConfigError                    [8]  a setting or doltplane.toml is wrong
    │   └── InvalidServerUrl                a server URL that cannot be parsed or has another scheme
    ├── ServiceRunning                 [14] another `doltplane serve` holds this data directory
    ├── JobFailed                      [1]  a service job ended with an outcome that needs a person
    ├── MigrationError                 [9]  schema migrations failed or are inconsistent
    ├── VerifyMismatch                 [12] a comparison found differences (verify --compare)
    ├── DoctorFoundProblems            [13] `doltplane doctor` found something wrong
    ├── FederationError                [10] the federation repository or git failed
    │   ├── GitUnavailable                  no git, or too old
    │   ├── GitCommandError                 a git command failed (carries its stderr)
    │   ├── LocalChanges                    uncommitted edits would be overwritten
    │   ├── PushRejected                    the remote refused the push
    │   └── ReviewError                     a review is not approved or no longer merges
    └── RemoteError                    [11] a Dolt remote (backup or sync) failed
        ├── RemoteUnreachable               the remote cannot be opened or reached
        └── RemoteRejected                  the remote refused a push (not a fast-forward)

Only misuse raises: merges, pulls and pushes that meet conflicts return a
result value with the conflicts as data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DoltplaneError(Exception):
    """Root of every doltplane error; ``exit_code`` is what the CLI exits with."""

    exit_code = 1
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else type(self).__name__

    def one_line(self) -> str:
        """The message and, when there is one, what to do next, on one line."""
        text = " ".join(self.message.split())
        return f"{text} ({self.hint})" if self.hint else text


class InvalidInput(DoltplaneError, ValueError):
    exit_code = 3


class InvalidId(InvalidInput):
    pass


class InvalidDocument(InvalidInput):
    pass


class InvalidRevision(InvalidInput):
    def __init__(self, revision: str, reason: str = "unknown revision", **kw: Any) -> None:
        super().__init__(f"invalid revision {revision!r}: {reason}", **kw)
        self.revision = revision


class InvalidBranchName(InvalidInput):
    def __init__(self, name: str, reason: str = "not a valid branch name") -> None:
        super().__init__(f"invalid branch name {name!r}: {reason}")
        self.name = name


class UnsafePath(InvalidInput):
    def __init__(self, path: str, reason: str = "escapes the repository") -> None:
        super().__init__(f"unsafe path {path!r}: {reason}")
        self.path = path


class CatalogInvalid(InvalidInput):
    """Validation problems, each already formatted as ``path:line: message``."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else "catalog is invalid"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{first}{more}")


class RulesInvalid(InvalidDocument):
    """An alert rules file that cannot be used, as ``path:line: message``."""

    hint = "fix the file, then `doltplane alerts check FILE` validates it"


class QueryTimeout(InvalidInput):
    """A cross-plane query was stopped at its time limit; it changed nothing."""

    def __init__(self, limit: float, elapsed: float) -> None:
        super().__init__(
            f"query stopped after {elapsed:.1f} s: the limit is query_timeout_seconds = {limit:g}",
            hint="narrow the query, or raise DOLTPLANE_QUERY_TIMEOUT_SECONDS",
        )
        self.limit = limit
        self.elapsed = elapsed


class ConstraintViolation(InvalidInput):
    """A write to a pack table broke one of its rules; the transaction wrote nothing."""

    def __init__(self, table: str, detail: str, *, hint: str | None = None) -> None:
        super().__init__(f"{table}: {detail}", hint=hint)
        self.table = table
        self.detail = detail


class UniqueViolation(ConstraintViolation):
    pass


class CheckViolation(ConstraintViolation):
    pass


class ForeignKeyViolation(ConstraintViolation):
    pass


class IllegalTransition(ConstraintViolation):
    def __init__(self, table: str, column: str, old: str | None, new: str) -> None:
        before = "a new row" if old is None else repr(old)
        super().__init__(
            table,
            f"{column} may not go from {before} to {new!r}",
            hint="see the pack's state machine: `doltplane pack status --json`",
        )
        self.column = column
        self.old = old
        self.new = new


class NotFound(DoltplaneError, LookupError):
    exit_code = 4

    def __init__(self, kind: str, key: str, *, hint: str | None = None) -> None:
        super().__init__(f"{kind} not found: {key!r}", hint=hint)
        self.kind = kind
        self.key = key


class VersionConflict(DoltplaneError):
    exit_code = 5

    def __init__(self, id: str, expected: int, actual: int | None) -> None:
        super().__init__(
            f"version conflict on {id!r}: expected version {expected}, found {actual}",
            hint="re-read the record and retry with its current version",
        )
        self.id = id
        self.expected = expected
        self.actual = actual


class MergeConflict(DoltplaneError):
    exit_code = 6

    def __init__(
        self,
        branch: str,
        tables: Sequence[str] = (),
        rows: Sequence[Any] = (),
        *,
        hint: str | None = None,
    ) -> None:
        where = f" in {', '.join(tables)}" if tables else ""
        super().__init__(
            f"merge of {branch!r} has {len(rows) or 'unresolved'} conflict(s){where}", hint=hint
        )
        self.branch = branch
        self.tables = list(tables)
        self.rows = list(rows)


class EngineError(DoltplaneError):
    exit_code = 7


class EngineUnavailable(EngineError):
    pass


class NotADoltDatabase(EngineError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"{path} is not a Dolt database: {reason}",
            hint="point doltplane at a new data directory, or move this file away",
        )
        self.path = path


class DatabaseBusy(EngineError):
    def __init__(self, what: str, attempts: int) -> None:
        super().__init__(
            f"database stayed locked during {what} after {attempts} attempts",
            hint="another writer holds it; retry, or raise busy_timeout_ms / write_retries",
        )
        self.attempts = attempts


class UnsupportedOperation(EngineError):
    pass


class ServerUnreachable(EngineUnavailable):
    pass


class ServerAuthFailed(EngineUnavailable):
    pass


class DatabaseMissing(EngineUnavailable):
    def __init__(self, database: str, where: str, *, hint: str | None = None) -> None:
        super().__init__(f"database {database!r} not found on {where}", hint=hint)
        self.database = database


class NotADoltServer(EngineUnavailable):
    pass


class ServerStartFailed(EngineUnavailable):
    pass


class ServerReadOnly(EngineError):
    pass


class SupervisorBusy(EngineError):
    """Another live supervisor holds the lock; ``holder`` says which process."""

    def __init__(self, what: str, holder: str, *, hint: str | None = None) -> None:
        super().__init__(f"{what} is already supervised by {holder}", hint=hint)
        self.holder = holder


class ConfigError(DoltplaneError):
    exit_code = 8


class InvalidServerUrl(ConfigError):
    pass


class MigrationError(DoltplaneError):
    exit_code = 9


class VerifyMismatch(DoltplaneError):
    """The ledger and the file compared differ (the counts are in the message)."""

    exit_code = 12


class DoctorFoundProblems(DoltplaneError):
    """``doltplane doctor`` reported warnings or errors (each with its own hint)."""

    exit_code = 13


class FederationError(DoltplaneError):
    exit_code = 10


class GitUnavailable(FederationError):
    pass


class GitCommandError(FederationError):
    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {returncode}"
        super().__init__(f"git {' '.join(args[:2])} failed: {last}")
        self.git_args = list(args)
        self.returncode = returncode
        self.stderr = stderr


class LocalChanges(FederationError):
    def __init__(self, paths: Sequence[str]) -> None:
        shown = ", ".join(list(paths)[:5]) + (" ..." if len(paths) > 5 else "")
        super().__init__(
            f"local uncommitted changes would be overwritten: {shown}",
            hint="commit or discard them first",
        )
        self.paths = list(paths)


class PushRejected(FederationError):
    pass


class ReviewError(FederationError):
    pass


class RemoteError(DoltplaneError):
    exit_code = 11


class RemoteUnreachable(RemoteError):
    pass


class RemoteRejected(RemoteError):
    def __init__(self, remote: str, refs: Sequence[str], *, hint: str | None = None) -> None:
        super().__init__(
            f"remote {remote!r} refused {', '.join(refs)}: not a fast-forward", hint=hint
        )
        self.remote = remote
        self.refs = list(refs)


class JobFailed(DoltplaneError):
    """A service job ran to its end but its outcome needs a person (a federation conflict,
    a rejected backup push): counted and reported as a failed run."""


class ServiceRunning(DoltplaneError):
    """Another ``doltplane serve`` holds the data directory's service lock."""

    exit_code = 14

    def __init__(self, data_dir: str, pid: int | None, host: str | None) -> None:
        holder = f"pid {pid}" + (f" on {host}" if host else "") if pid else "another process"
        super().__init__(
            f"a doltplane service already runs for {data_dir} ({holder})",
            hint=f"stop it first (kill {pid})" if pid else "stop the other service first",
        )
        self.pid = pid
        self.host = host
