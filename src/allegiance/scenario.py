"""Scenario files: TOML, validated by pydantic v2, derivable with ``base``, overridable with
``--set``.

A scenario names the model it runs (``model = "cpsu"``), its run settings, the model's
parameters and a timeline of dated events. A scenario may derive from another with
``base = "cpsu"`` (a bundled name or a path relative to the file) and override only the keys it
changes; tables merge key by key, and events are a table keyed by id, so a counterfactual can
switch one event off (``[events.secret_speech] enabled = false``) without restating the rest.

Every problem is reported with its key path, the offending value and what is allowed.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .calendar import parse_month
from .errors import ScenarioError

PROVENANCE_KINDS = ("data", "calibration", "literature", "assumption", "counterfactual")


#: the largest size of a number in a scenario or experiment file whose key states no bound
#: of its own on that side: every number is finite, and a key without an upper (lower) bound
#: allows at most NUMBER_LIMIT (at least -NUMBER_LIMIT). The Params tables of docs/ODD.md show
#: the range each key allows.
NUMBER_LIMIT = 1e9


def field_bounds(field: Any) -> tuple[float | None, bool, float | None, bool]:
    """``(low, low_open, high, high_open)`` a field's own metadata states (None: no bound)."""
    lo = hi = None
    lo_open = hi_open = False
    for m in field.metadata:
        if getattr(m, "ge", None) is not None:
            lo, lo_open = m.ge, False
        if getattr(m, "gt", None) is not None:
            lo, lo_open = m.gt, True
        if getattr(m, "le", None) is not None:
            hi, hi_open = m.le, False
        if getattr(m, "lt", None) is not None:
            hi, hi_open = m.lt, True
    return lo, lo_open, hi, hi_open


class Frozen(BaseModel):
    """Base of every schema: unknown keys are errors, validated values are immutable, and
    every number is finite and within its key's range (:data:`NUMBER_LIMIT` where the key
    states no bound of its own)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_a_number(cls, data: Any) -> Any:
        # pydantic would read true as 1 (run.scale = true: a whole-country run)
        if isinstance(data, Mapping):
            for name, v in data.items():
                field = cls.model_fields.get(name) if isinstance(v, bool) else None
                kinds = _unwrap(field.annotation) if field is not None else []
                if field is not None and bool not in kinds and (int in kinds or float in kinds):
                    raise ValueError(f"{name} = {str(v).lower()}: allowed: a number, not true "
                                     "or false")
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _within_number_limit(cls, v: Any, info: ValidationInfo) -> Any:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return v
        field = cls.model_fields.get(info.field_name or "")
        lo, _, hi, _ = field_bounds(field) if field is not None else (None, False, None, False)
        if (hi is None and v > NUMBER_LIMIT) or (lo is None and v < -NUMBER_LIMIT):
            low = f"{lo:g}" if lo is not None else f"{-NUMBER_LIMIT:g}"
            high = f"{hi:g}" if hi is not None else f"{NUMBER_LIMIT:g}"
            raise ValueError(f"allowed: a number from {low} to {high}")
        return v


Month = Annotated[str, Field(description="a date: YYYY, YYYY-MM or YYYY-MM-DD")]


def check_month(v: str) -> str:
    """Validate a date string (used by field validators)."""
    parse_month(v)
    return v


class KeyPathError(ValueError):
    """A problem a validator found in a key below the one it validates (a check of several keys
    together names the key at fault); ``format_errors`` shows each line as it is.

    Args:
        lines: one line per problem, each starting with the key path.
    """

    def __init__(self, lines: list[str] | str):
        self.lines = [lines] if isinstance(lines, str) else list(lines)
        super().__init__("; ".join(self.lines))


def suggest(word: str, options: Iterable[str]) -> str:
    """``"did you mean 'x'? "`` for the option closest to ``word``, or ``""``."""
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


class EventBase(Frozen):
    """Fields every timeline event has."""

    date: Month
    enabled: bool = True
    note: str = ""

    _check_date = field_validator("date")(classmethod(lambda cls, v: check_month(v)))


class ParamRange(Frozen):
    """The plausible range of an assumed parameter (a scenario's ``[ranges]`` table)::

        [ranges]
        "mechanisms.crisis.spread" = { range = [0.0, 0.3], why = "sd of ...; ODD M10" }

    ``allegiance sensitivity SCENARIO --assumed`` draws its design over these ranges.
    """

    range: tuple[float, float] = Field(description="[lo, hi], lo < hi, the value inside")
    why: str = Field(min_length=1, description="where the range comes from (a source, the "
                                               "ODD's Params text, or the reasoning)")
    integer: bool = Field(False, description="values drawn are rounded (counts, months)")

    @field_validator("range")
    @classmethod
    def _order(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not v[0] < v[1]:
            raise ValueError("allowed: [lo, hi] with lo < hi")
        return v


#: provenance kinds under which a parameter may have a plausible range: an assumption, or a
#: counterfactual's other value of one (a provenance "data: date; assumption: magnitude" also
#: counts: its text says what is assumed)
RANGED_KINDS = ("assumption", "counterfactual")


def provenance_of(provenance: Mapping[str, str], key: str) -> tuple[str, str] | None:
    """The provenance entry that covers a dotted key (the longest prefix): ``(entry, text)``."""
    parts = key.split(".")
    for i in range(len(parts), 0, -1):
        k = ".".join(parts[:i])
        if k in provenance:
            return k, provenance[k]
    return None


def provenance_kind(text: str) -> str:
    """``"assumption"`` of ``"assumption: ..."``."""
    return text.split(":", 1)[0].strip()


def leaf(data: Any, key: str) -> tuple[bool, Any]:
    """``(found, value)`` at a dotted key of plain data."""
    node = data
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def is_number(v: Any) -> bool:
    """A number that is a parameter's value (not a bool)."""
    return isinstance(v, int | float) and not isinstance(v, bool)


class ScenarioBase(Frozen):
    """Fields every scenario has, whatever model it runs."""

    #: tables in which ``--set`` may create an entry the scenario does not have yet (e.g.
    #: ``hold.<lever>``); the new keys are checked by validation
    open_tables: typing.ClassVar[tuple[str, ...]] = ()

    name: str
    description: str = ""
    model: str
    provenance: dict[str, str] = Field(default_factory=dict)
    ranges: dict[str, ParamRange] = Field(default_factory=dict, description=(
        "plausible ranges of assumed parameters, keyed by dotted path: "
        "\"a.b\" = { range = [lo, hi], why = \"...\" }"))

    @model_validator(mode="before")
    @classmethod
    def _no_ranges_of_removed_events(cls, data: Any) -> Any:
        # an event taken out (a derived scenario, ``d["events"] = {}`` in Python) takes the
        # ranges of its values with it; any other range must name a parameter (below)
        ranges = data.get("ranges") if isinstance(data, Mapping) else None
        if isinstance(ranges, Mapping):
            events = data.get("events") if isinstance(data.get("events"), Mapping) else {}
            keep = {k: v for k, v in ranges.items()
                    if not (isinstance(k, str) and k.startswith("events.")
                            and k.split(".")[1] not in events)}
            if len(keep) != len(ranges):
                data = {**data, "ranges": keep}
        return data

    @model_validator(mode="after")
    def _check_ranges(self):
        """Each range names a numeric parameter the scenario has, whose provenance says it is
        assumed, and holds its value (``--set`` taking a value outside drops the range)."""
        if not self.ranges:
            return self
        dump = self.model_dump(mode="json", exclude={"ranges", "provenance"})
        problems = []
        for key, r in self.ranges.items():
            where = f"ranges.{key}"
            found, value = leaf(dump, key)
            if not found:
                head = key.split(".")[0]
                hint = suggest(head, dump) if head not in dump else ""
                problems.append(f"{where}: no parameter '{key}' in the scenario ({hint}a range "
                                "is keyed by a parameter's dotted path, e.g. "
                                "'mechanisms.crisis.spread')")
                continue
            if not is_number(value):
                problems.append(f"{where}: '{key}' is {type(value).__name__} {value!r}, not a "
                                "number; allowed: a numeric parameter")
                continue
            prov = provenance_of(self.provenance, key)
            if prov is None or not (provenance_kind(prov[1]) in RANGED_KINDS
                                    or "assumption" in prov[1]):
                said = (f"its provenance ({prov[0]!r}) says {provenance_kind(prov[1])!r}"
                        if prov else "it has no provenance")
                problems.append(f"{where}: {said}; allowed: a range only for a parameter "
                                "whose provenance says 'assumption: ...'")
                continue
            lo, hi = r.range
            if not lo <= value <= hi:
                problems.append(f"{where}: the value {value:g} lies outside the range "
                                f"[{lo:g}, {hi:g}]; allowed: a range that holds the value")
        if problems:
            raise KeyPathError(problems)
        return self

    def assumed(self, keys: Iterable[str] | None = None) -> dict[str, ParamRange]:
        """The ranged parameters (all, or those named), in file order.

        Raises:
            ScenarioError: a name without a range (listing those there are).
        """
        if keys is None:
            return dict(self.ranges)
        out = {}
        for k in keys:
            if k not in self.ranges:
                raise ScenarioError(f"--params {k}: no range for it in scenario "
                                    f"'{self.name}' ({suggest(k, self.ranges)}ranged: "
                                    f"{', '.join(self.ranges) or 'none'})")
            out[k] = self.ranges[k]
        return out

    @field_validator("name")
    @classmethod
    def _check_name(cls, v: str) -> str:
        from .outdir import check_slug

        return check_slug(v)  # the default output directory is runs/<name>

    @field_validator("provenance")
    @classmethod
    def _check_provenance(cls, v: dict[str, str]) -> dict[str, str]:
        for key, text in v.items():
            kind = text.split(":", 1)[0].strip()
            if kind not in PROVENANCE_KINDS:
                raise ValueError(
                    f"provenance of {key!r} starts with {kind!r}; allowed: "
                    + ", ".join(f"'{k}: ...'" for k in PROVENANCE_KINDS)
                )
        return v

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved scenario as plain data (what the manifest stores)."""
        out = self.model_dump(mode="json")
        if not out.get("ranges"):
            # a scenario without ranges resolves (its TOML, its digest) as before they existed
            out.pop("ranges", None)
        return out

    def digest(self) -> str:
        """SHA-256 of the resolved scenario in canonical JSON."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Locating and reading files


def bundled_names() -> list[str]:
    """Names of the scenarios shipped inside the package."""
    files = resources.files("allegiance") / "scenarios"
    return sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".toml"))


def bundled_path(name: str) -> Path:
    """Path of a bundled scenario file."""
    return Path(str(resources.files("allegiance") / "scenarios" / f"{name}.toml"))


def _readable_path(path: Path) -> bool:
    """Whether ``path`` is something to read a scenario from: a file, or anything else that
    exists and is no directory (a pipe, ``/dev/stdin``, ``<(...)``; ``is_file`` is False for
    those). Whether it can be read is :func:`read_toml`'s to say."""
    try:
        return path.exists() and not path.is_dir()
    except OSError:  # a name too long, a loop of links: no such file
        return False


def locate(spec: str | Path, relative_to: Path | None = None) -> Path:
    """Resolve a scenario argument: an existing file (or pipe), else a bundled name."""
    spec_s = str(spec)
    candidates = [Path(spec_s)]
    if relative_to is not None and not Path(spec_s).is_absolute():
        candidates.insert(0, relative_to / spec_s)
    for c in candidates:
        if _readable_path(c):
            return c
    names = bundled_names()
    name = spec_s[:-5] if spec_s.endswith(".toml") else spec_s
    if name in names:
        return bundled_path(name)
    if spec_s.endswith(".toml") or "/" in spec_s:
        raise ScenarioError(f"scenario file '{spec_s}' not found")
    raise ScenarioError(
        f"scenario '{spec_s}' not found: no such file and no bundled scenario of that name "
        f"({suggest(name, names)}bundled: {', '.join(names)})"
    )


#: how deep tables and arrays may nest in a scenario or experiment file (the schemas need
#: at most 4 levels; deeper input is refused before anything recurses over it)
MAX_DEPTH = 32


def nesting_depth(value: Any) -> int:
    """How deep tables and arrays nest in ``value`` (0 for a plain value), without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            children = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((c, depth + 1) for c in children)
    return deepest


def parse_toml(text: str | bytes, where: str) -> dict[str, Any]:
    """Parse TOML text; every way it can be unreadable is a :class:`ScenarioError` naming
    ``where`` (not UTF-8, malformed, nested deeper than :data:`MAX_DEPTH`)."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        raw = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{where}: not a text file in UTF-8 (byte {exc.start}: "
                            f"{exc.object[exc.start:exc.start + 1]!r}); allowed: a TOML "
                            "file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{where}: malformed TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"{where}: tables or arrays nested too deep (allowed: at most "
                            f"{MAX_DEPTH} levels)") from None
    if nesting_depth(raw) > MAX_DEPTH:
        raise ScenarioError(f"{where}: tables or arrays nested too deep (allowed: at most "
                            f"{MAX_DEPTH} levels)")
    return raw


#: parsed TOML files by a hash of their contents: a sweep's runs read the same scenario file,
#: and parsing it costs more than reading and hashing it (kept small; each entry a few dozen
#: kB). Keyed by the bytes, not the file's time: an edit is always seen (a file that does not
#: parse is not kept, so its error names the file it came from)
_PARSED: dict[bytes, dict[str, Any]] = {}
_PARSED_MAX = 64


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning every way it can be unreadable into a one-line message.
    The table is the caller's to change (a copy of the one kept for these contents)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario file '{path}': {exc.strerror}") from None
    key = hashlib.blake2b(data, digest_size=16).digest()
    raw = _PARSED.get(key)
    if raw is None:
        raw = parse_toml(data, path.name)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = raw
    return copy.deepcopy(raw)


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``over`` into ``base``: tables merge key by key, other values replace."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def load_raw(spec: str | Path, relative_to: Path | None = None, _seen=None) -> dict[str, Any]:
    """Read a scenario file and everything it derives from, merged into one table."""
    found = locate(spec, relative_to)
    # a pipe is kept as named: /dev/stdin and /dev/fd/63 resolve to 'pipe:[1234]', no path
    path = found.resolve() if found.is_file() else found.absolute()
    seen = _seen or []
    if path in seen:
        chain = " -> ".join(p.name for p in [*seen, path])
        raise ScenarioError(f"base: scenarios derive from each other in a cycle ({chain})")
    raw = read_toml(path)
    base = raw.pop("base", None)
    if base is None:
        return raw
    if not isinstance(base, str):
        raise ScenarioError(f"base = {base!r}: must be a scenario name or file path (a string)")
    parent = load_raw(base, path.parent, [*seen, path])
    # A derived scenario keeps its own name/description; provenance and ranges merge.
    merged = deep_merge(parent, raw)
    own = raw.get("ranges") if isinstance(raw.get("ranges"), Mapping) else {}
    for key in list(parent.get("ranges") or {}):
        found, value = leaf(raw, key)
        if found and key not in own:  # a value the derived file sets: its base's range may
            merged = _drop_range_left(merged, key, value)  # not hold it (a counterfactual)
    return merged


# ---------------------------------------------------------------------------------------------
# --set overrides


def parse_set(item: str) -> tuple[list[str], Any]:
    """Parse ``key.path=value``; the value is read as TOML (number, bool, string, list)."""
    if "=" not in item:
        raise ScenarioError(f"--set {item!r}: expected key.path=value")
    key, _, text = item.partition("=")
    path = [p for p in key.strip().split(".") if p]
    if not path:
        raise ScenarioError(f"--set {item!r}: empty key")
    try:
        value = tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = text.strip()
    except RecursionError:
        value = None
    if value is None or nesting_depth(value) > MAX_DEPTH:
        raise ScenarioError(f"--set {key.strip()}: the value is nested too deep (allowed: at "
                            f"most {MAX_DEPTH} levels)")
    return path, value


def _check_path(dump: Mapping[str, Any], path: list[str], item: str) -> None:
    node: Any = dump
    for i, part in enumerate(path):
        if not isinstance(node, Mapping) or part not in node:
            where = ".".join(path[:i]) or "the top level"
            options = list(node) if isinstance(node, Mapping) else []
            allowed = f"allowed: {', '.join(map(str, options))}" if options else "not a table"
            raise ScenarioError(
                f"--set {item}: unknown key '{'.'.join(path)}' "
                f"({suggest(part, options)}{allowed} under {where})"
            )
        node = node[part]


def _assign(raw: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    if len(path) == 1:
        return {**raw, path[0]: value}
    child = raw.get(path[0])
    child = dict(child) if isinstance(child, Mapping) else {}
    return {**raw, path[0]: _assign(child, path[1:], value)}


# ---------------------------------------------------------------------------------------------
# Validation with readable messages


def _unwrap(tp: Any) -> list[Any]:
    """The concrete classes an annotation may hold (Optional/Union/Annotated removed)."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (Union, types.UnionType):
        out = []
        for a in typing.get_args(tp):
            out += _unwrap(a)
        return out
    return [tp]


def _allowed_keys(cls: type[BaseModel], raw: Any, loc: tuple) -> list[str]:
    """Field names allowed at ``loc`` (used for 'did you mean')."""
    node_cls: Any = cls
    node_raw = raw
    for part in loc:
        if isinstance(node_cls, type) and issubclass(node_cls, BaseModel):
            if part not in node_cls.model_fields:
                continue  # a union tag inserted by pydantic
            node_cls = node_cls.model_fields[part].annotation
        elif typing.get_origin(node_cls) is dict:
            node_cls = typing.get_args(node_cls)[1]
        options = _unwrap(node_cls)
        node_raw = node_raw.get(part) if isinstance(node_raw, Mapping) else None
        if len(options) > 1 and isinstance(node_raw, Mapping):
            tag = node_raw.get("type")
            for o in options:
                f = getattr(o, "model_fields", {}).get("type")
                if f is not None and tag in typing.get_args(f.annotation):
                    options = [o]
                    break
        node_cls = options[0]
        if typing.get_origin(node_cls) is dict:
            continue
    if isinstance(node_cls, type) and issubclass(node_cls, BaseModel):
        return [f.alias or n for n, f in node_cls.model_fields.items()]
    return []


def _clean_loc(raw: Any, loc: tuple, tag_of: Any = None) -> list[str]:
    """Drop the parts of a pydantic error location that are not keys of the input.
    ``tag_of``: the value the error refuses, when it is not about a key: a last part that a
    table given as that value lacks is then a union member's tag (int, literal['inf']), not a
    key of the table."""
    out: list[str] = []
    node = raw
    for i, part in enumerate(loc):
        if isinstance(node, Mapping) and node.get("type") == part and i < len(loc) - 1:
            continue  # the tag of a discriminated union, inserted by pydantic
        if (isinstance(node, Mapping) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            node = node[part]
            out.append(str(part))
        elif i == len(loc) - 1 and not (isinstance(tag_of, Mapping) and tag_of == node) and (
                i == 0 or isinstance(node, Mapping)
                or (isinstance(node, list) and isinstance(part, int))):
            out.append(str(part))  # a missing or unknown key; past a plain value, a union
            # member's tag (int, literal['inf']) that is no key of the input
    return out


def format_errors(cls: type[BaseModel], raw: Mapping[str, Any], exc: ValidationError) -> list[str]:
    """One line per validation problem: key path, value, what is allowed."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        tag_of = None if kind in ("missing", "extra_forbidden") else err.get("input")
        path = ".".join(_clean_loc(raw, loc, tag_of)) or "(top level)"
        if kind == "extra_forbidden":
            allowed = _allowed_keys(cls, raw, loc[:-1])
            hint = suggest(str(loc[-1]), allowed)
            lines.append(
                f"{path}: unknown key ({hint}allowed: {', '.join(allowed)})"
                if allowed
                else f"{path}: unknown key"
            )
        elif kind == "missing":
            lines.append(f"{path}: required key is missing")
        elif kind == "finite_number":
            lines.append(f"{path} = {err.get('input')!r}: allowed: a finite number")
        elif isinstance((err.get("ctx") or {}).get("error"), KeyPathError):
            lines.extend(err["ctx"]["error"].lines)
        else:
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            value = err.get("input")
            shown = repr(value) if not isinstance(value, dict) else "a table"
            line = f"{path} = {shown}: "
            if lines and lines[-1].startswith(line):  # the members of a union: one line
                lines[-1] += f"; or {msg[0].lower()}{msg[1:]}"
            else:
                lines.append(line + msg)
    return lines


def _model_class(raw: Mapping[str, Any]) -> type[ScenarioBase]:
    from .registry import MODELS, model_class

    name = raw.get("model")
    if not isinstance(name, str) or name not in MODELS:
        hint = suggest(str(name), MODELS) if name is not None else ""
        raise ScenarioError(
            f"model = {name!r}: {hint}allowed: {', '.join(MODELS)}"
            if name is not None
            else f"model: required key is missing (allowed: {', '.join(MODELS)})"
        )
    return model_class(name).scenario_class


def validate_raw(raw: Mapping[str, Any]) -> ScenarioBase:
    """Validate a merged scenario table; raises :class:`ScenarioError` listing every problem."""
    cls = _model_class(raw)
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(format_errors(cls, raw, exc)) from None


def load_scenario(
    spec: str | Path | Mapping[str, Any] | ScenarioBase,
    overrides: Iterable[str] | Mapping[str, Any] = (),
) -> ScenarioBase:
    """Load, merge and validate a scenario.

    Args:
        spec: a bundled scenario name, a TOML file path, a table, or a validated scenario.
        overrides: ``["key.path=value", ...]`` or ``{"key.path": value}``.

    Raises:
        ScenarioError: with one line per problem.
    """
    scenario = None
    if isinstance(spec, ScenarioBase):
        raw: dict[str, Any] = spec.to_dict()
        scenario = spec  # validated already
    elif isinstance(spec, Mapping):
        if nesting_depth(spec) > MAX_DEPTH:
            raise ScenarioError(f"the scenario's tables or arrays nest too deep (allowed: at "
                                f"most {MAX_DEPTH} levels)")
        raw = dict(spec)
        base = raw.pop("base", None)
        if base is not None:
            raw = deep_merge(load_raw(base), raw)
    else:
        raw = load_raw(spec)
    items: list[tuple[list[str], Any, str]] = []
    if isinstance(overrides, Mapping):
        items = [(k.split("."), v, f"{k}={v}") for k, v in overrides.items()]
    else:
        items = [(*parse_set(s), s) for s in overrides]
    if scenario is None:
        scenario = validate_raw(raw)
    if not items:
        return scenario
    dump = scenario.to_dict()
    for path, value, text in items:
        if path[0] not in type(scenario).open_tables:
            _check_path(dump, path, text)
        raw = _assign(raw, path, value)
        raw = _drop_range_left(raw, ".".join(path), value)
    try:
        return validate_raw(raw)
    except ScenarioError as exc:
        raise ScenarioError([f"after --set: {m}" for m in exc.messages]) from None


#: top-level tables of a scenario that hold no model parameters (settings, notes, holds)
NOT_PARAMETERS = ("run", "provenance", "ranges", "hold", "name", "description", "model")


def assumed_parameters(raw: Mapping[str, Any]) -> list[str]:
    """The numeric parameters *written* in a scenario table (e.g. :func:`load_raw` of a file
    and its bases) whose provenance says ``assumption: ...``: those that need a plausible
    range in ``[ranges]`` (the defaults not written are covered by ranges where the scenario
    chooses to; see cpsu.toml's comment on ``[ranges]``)."""
    prov = raw.get("provenance") or {}
    out: list[str] = []

    def walk(node: Any, key: str) -> None:
        if isinstance(node, Mapping):
            for k, v in node.items():
                walk(v, f"{key}.{k}" if key else str(k))
        elif is_number(node):
            hit = provenance_of(prov, key)
            if hit is not None and provenance_kind(hit[1]) == "assumption":
                out.append(key)

    for top, node in raw.items():
        if top not in NOT_PARAMETERS:
            walk(node, str(top))
    return out


def _drop_range_left(raw: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """``raw`` without the plausible range of ``key`` if ``value`` (a ``--set``, or a derived
    file's value) lies outside it: the range described the scenario that stated it, and the
    resolved scenario must validate (and its saved TOML re-run) as it is."""
    ranges = raw.get("ranges")
    r = ranges.get(key) if isinstance(ranges, Mapping) else None
    if isinstance(value, str):  # {"levers.privilege": "1.0"}: the schema reads it as 1.0
        try:
            value = float(value)
        except ValueError:
            return raw
    if not isinstance(r, Mapping) or not is_number(value):
        return raw
    bounds = r.get("range")
    if (isinstance(bounds, list | tuple) and len(bounds) == 2 and all(map(is_number, bounds))
            and not bounds[0] <= value <= bounds[1]):
        return {**raw, "ranges": {k: v for k, v in ranges.items() if k != key}}
    return raw


def describe_bundled() -> list[tuple[str, str, str]]:
    """(name, model, one-line description) of each bundled scenario, without validating."""
    out = []
    for name in bundled_names():
        raw = read_toml(bundled_path(name))
        model = raw.get("model", "")
        if not model and "base" in raw:
            model = load_raw(name).get("model", "")
        desc = str(raw.get("description", "")).strip().splitlines()
        out.append((name, model, desc[0] if desc else ""))
    return out


def scenario_to_toml(scenario: ScenarioBase) -> str:
    """The fully resolved scenario as TOML (re-runnable from the CLI bit for bit)."""
    import tomli_w

    def _clean(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: _clean(v) for k, v in x.items() if v is not None}
        if isinstance(x, list):
            return [_clean(v) for v in x]
        return x

    return tomli_w.dumps(_clean(scenario.to_dict()))
