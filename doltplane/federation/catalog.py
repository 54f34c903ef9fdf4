"""Reading the catalog: files -> typed entries, an index cached on HEAD, lookups by name/version."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Callable, Mapping
from typing import Any

from doltplane.errors import InvalidInput, NotFound, UnsafePath
from doltplane.federation.locate import line_of, toml_error_line
from doltplane.federation.models import KINDS, Entry, Formula, Kind, Problem, Role, Template
from doltplane.federation.repo import FileEntry, safe_relpath

ROLES_DIR = "roles"
FORMULAS_DIR = "formulas"
TEMPLATES_DIR = "templates"
FORMULA_SUFFIX = ".formula.toml"
MAX_DEPTH = 64
"""How deep tables and arrays may nest in a role or formula (real ones reach about 5)."""
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_FOLDER_KINDS: dict[str, Kind] = {
    ROLES_DIR: "role",
    FORMULAS_DIR: "formula",
    TEMPLATES_DIR: "template",
}


@dataclasses.dataclass
class ParsedCatalog:
    """Everything loaded from one set of files, with the problems met on the way."""

    roles: dict[str, Role] = dataclasses.field(default_factory=dict)
    formulas: dict[str, dict[int, Formula]] = dataclasses.field(default_factory=dict)
    templates: dict[str, Template] = dataclasses.field(default_factory=dict)
    documents: dict[str, tuple[Kind, dict[str, Any], str]] = dataclasses.field(default_factory=dict)
    """path -> (kind, parsed TOML, text) of every role and formula that parsed."""
    problems: list[Problem] = dataclasses.field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.roles) + sum(map(len, self.formulas.values())) + len(self.templates)


def kind_of(path: str) -> Kind | None:
    """What a repository path holds, by its top-level folder (None: not a catalog entry)."""
    return _FOLDER_KINDS.get(path.split("/", 1)[0])


def parse_catalog(files: Mapping[str, FileEntry]) -> ParsedCatalog:
    """Parse every role, formula and template; structural problems and duplicates are recorded."""
    parsed = ParsedCatalog()
    for path in sorted(files):
        entry = files[path]
        kind = kind_of(path)
        if entry.escapes:
            parsed.problems.append(
                Problem(path, 1, f"symlink to {entry.symlink!r} points outside the repository")
            )
            continue
        if kind == "role":
            _load_role(parsed, path, entry.data)
        elif kind == "formula":
            _load_formula(parsed, path, entry.data)
        elif kind == "template":
            _load_template(parsed, path, entry.data)
    return parsed


def _read_toml(parsed: ParsedCatalog, path: str, data: bytes) -> tuple[dict[str, Any], str] | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        parsed.problems.append(Problem(path, 1, f"not UTF-8 text ({exc.reason})"))
        return None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        parsed.problems.append(
            Problem(path, toml_error_line(str(exc), text), f"malformed TOML: {message}")
        )
        return None
    except RecursionError:
        parsed.problems.append(Problem(path, 1, "malformed TOML: nested too deeply"))
        return None
    if _deeper_than(doc, MAX_DEPTH):
        parsed.problems.append(
            Problem(path, 1, f"nested more than {MAX_DEPTH} tables or arrays deep")
        )
        return None
    return doc, text


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether tables and arrays nest past ``limit``: later passes walk them recursively."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack += ((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack += ((child, depth + 1) for child in node)
    return False


def _name(parsed: ParsedCatalog, path: str, text: str, doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is None:
        parsed.problems.append(Problem(path, 1, f"missing required key {key!r}"))
        return None
    if not isinstance(value, str) or not SAFE_NAME.fullmatch(value):
        parsed.problems.append(
            Problem(
                path,
                line_of(text, [key]),
                f"{key} must be a name of letters, digits, '.', '_' or '-', got {value!r}",
            )
        )
        return None
    return value


def _line(parsed: ParsedCatalog, path: str, key: str) -> int:
    return line_of(parsed.documents[path][2], [key])


def _load_role(parsed: ParsedCatalog, path: str, data: bytes) -> None:
    if path.count("/") != 1 or not path.endswith(".toml"):
        parsed.problems.append(Problem(path, 1, "a role is a file roles/<name>.toml"))
        return
    loaded = _read_toml(parsed, path, data)
    if loaded is None:
        return
    doc, text = loaded
    parsed.documents[path] = ("role", doc, text)
    name = _name(parsed, path, text, doc, "role")
    if name is None:
        return
    if name in parsed.roles:
        first = parsed.roles[name].path
        parsed.problems += [
            Problem(path, line_of(text, ["role"]), f"duplicate role {name!r} (also in {first})"),
            Problem(
                first, _line(parsed, first, "role"), f"duplicate role {name!r} (also in {path})"
            ),
        ]
        return
    parsed.roles[name] = Role(name=name, path=path, data=doc)


def _load_formula(parsed: ParsedCatalog, path: str, data: bytes) -> None:
    if path.count("/") != 1 or not path.endswith(FORMULA_SUFFIX):
        parsed.problems.append(Problem(path, 1, "a formula is a file formulas/<name>.formula.toml"))
        return
    loaded = _read_toml(parsed, path, data)
    if loaded is None:
        return
    doc, text = loaded
    parsed.documents[path] = ("formula", doc, text)
    name = _name(parsed, path, text, doc, "formula")
    version = doc.get("version")
    if version is None:
        parsed.problems.append(Problem(path, 1, "missing required key 'version'"))
        return
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        parsed.problems.append(
            Problem(
                path,
                line_of(text, ["version"]),
                f"version must be a non-negative integer, got {version!r}",
            )
        )
        return
    if name is None:
        return
    versions = parsed.formulas.setdefault(name, {})
    if version in versions:
        first = versions[version].path
        what = f"duplicate formula {name!r} version {version}"
        parsed.problems += [
            Problem(path, line_of(text, ["formula"]), f"{what} (also in {first})"),
            Problem(first, _line(parsed, first, "formula"), f"{what} (also in {path})"),
        ]
        return
    versions[version] = Formula(name=name, version=version, path=path, data=doc)


def _load_template(parsed: ParsedCatalog, path: str, data: bytes) -> None:
    parts = path.split("/")
    if parts[-1].startswith("."):  # .gitkeep and friends hold folders open; not templates
        return
    if len(parts) < 3:
        parsed.problems.append(
            Problem(path, 1, "a template lives in templates/<category>/ (e.g. agent-prompts)")
        )
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        parsed.problems.append(Problem(path, 1, f"templates must be UTF-8 text ({exc.reason})"))
        return
    name = "/".join(parts[1:])
    parsed.templates[name] = Template(name=name, category=parts[1], path=path, text=text)


def check_kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}")
    return kind


def check_name(kind: Kind, name: str) -> str:
    """A lookup name: plain names for roles and formulas, a relative path for templates."""
    if kind == "template":
        return safe_relpath(name)
    if not name or "/" in name or "\\" in name or name.startswith(".."):
        safe_relpath(name)  # absolute paths and climbing out get UnsafePath's own reason
        raise UnsafePath(name, f"a {kind} name is not a path")
    return name


class Catalog:
    """Lookups over an index built from the files at HEAD, rebuilt only when HEAD moves.

    The index reads committed content (``git cat-file``), which is what the
    cache key names; uncommitted edits show in ``status`` and ``validate``.
    """

    def __init__(
        self, head: Callable[[], str | None], files_at: Callable[[str], Mapping[str, FileEntry]]
    ) -> None:
        self._head = head
        self._files_at = files_at
        self._index: ParsedCatalog | None = None
        self._index_head: str | None = None
        self.builds = 0
        """How many times the index was built (tests check it is not rebuilt needlessly)."""

    def index(self) -> ParsedCatalog:
        head = self._head()
        if head is None:
            return ParsedCatalog()
        if self._index is None or head != self._index_head:
            self._index = parse_catalog(self._files_at(head))
            self._index_head = head
            self.builds += 1
        return self._index

    def get(self, kind: str, name: str, version: int | str | None = None) -> Entry:
        """One entry; formulas resolve ``version`` (None or ``"latest"``: the highest)."""
        checked = check_kind(kind)
        name = check_name(checked, name)
        index = self.index()
        if checked == "formula":
            versions = index.formulas.get(name)
            if not versions:
                raise NotFound("formula", name)
            return versions[self._resolve(name, sorted(versions), version)]
        if version is not None:
            raise InvalidInput(f"{checked}s have no versions; drop version={version!r}")
        if checked == "role":
            if name not in index.roles:
                raise NotFound("role", name)
            return index.roles[name]
        if name in index.templates:
            return index.templates[name]
        matches = [t for t in index.templates.values() if t.name.rsplit("/", 1)[-1] == name]
        if len(matches) == 1:
            return matches[0]
        hint = "several templates have that file name; give category/name" if matches else None
        raise NotFound("template", name, hint=hint)

    @staticmethod
    def _resolve(name: str, versions: list[int], wanted: int | str | None) -> int:
        if wanted is None or wanted == "latest":
            return versions[-1]
        try:
            number = int(wanted)
        except (TypeError, ValueError):
            raise InvalidInput(f"version must be an integer or 'latest', got {wanted!r}") from None
        if isinstance(wanted, bool) or number not in versions:
            raise NotFound(
                "formula version", f"{name}@{wanted}", hint=f"known versions: {versions}"
            )
        return number

    def versions(self, name: str) -> list[int]:
        name = check_name("formula", name)
        versions = self.index().formulas.get(name)
        if not versions:
            raise NotFound("formula", name)
        return sorted(versions)

    def entries(self, kind: str | None = None) -> list[Entry]:
        """Every entry of one kind (or all), sorted by name; formulas at every version."""
        kinds = KINDS if kind is None else (check_kind(kind),)
        index = self.index()
        out: list[Entry] = []
        if "role" in kinds:
            out += [index.roles[n] for n in sorted(index.roles)]
        if "formula" in kinds:
            for n in sorted(index.formulas):
                out += [index.formulas[n][v] for v in sorted(index.formulas[n])]
        if "template" in kinds:
            out += [index.templates[n] for n in sorted(index.templates)]
        return out
