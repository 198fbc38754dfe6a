"""Generated parts of ``docs/ODD.md``: parameter tables and submodel texts, taken from the code.

The tables walk the pydantic schemas of the CPSU model (``Levers``, ``Initial``, ``RunSettings``,
each mechanism's ``Params``, the event types): field name, type, code default, the value in the
bundled ``cpsu`` scenario, the allowed range and the description. Submodel sections reproduce
each mechanism module's docstring (its equations). They sit in ODD.md between markers

    <!-- BEGIN GENERATED: name -->
    ...
    <!-- END GENERATED: name -->

and are rewritten by ``python scripts/gen_odd_tables.py``; ``--check`` (and the test suite)
fails when the committed text no longer matches the code.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

BEGIN = "<!-- BEGIN GENERATED: {} -->"
END = "<!-- END GENERATED: {} -->"
_BLOCK = re.compile(r"<!-- BEGIN GENERATED: ([\w.-]+) -->\n(.*?)<!-- END GENERATED: \1 -->",
                    re.DOTALL)


def _type_name(ann: Any) -> str:
    name = getattr(ann, "__name__", None)
    if name == "Literal" or str(ann).startswith("typing.Literal"):
        import typing

        return " \\| ".join(f"`{a}`" for a in typing.get_args(ann))
    if name:
        return name
    return str(ann).replace("typing.", "").replace("|", "\\|")


def _bounds(field) -> str:
    """The range a field allows: its own bounds, and :data:`~allegiance.scenario.NUMBER_LIMIT`
    on a side a number states none."""
    from .scenario import NUMBER_LIMIT, _unwrap, field_bounds

    lo, lo_open, hi, hi_open = field_bounds(field)
    numeric = any(t in (int, float) for t in _unwrap(field.annotation))
    if numeric:
        lo = -NUMBER_LIMIT if lo is None else lo
        hi = NUMBER_LIMIT if hi is None else hi
    if lo is None and hi is None:
        return ""
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    lo_s = "−∞" if lo is None else _val(lo)
    hi_s = "∞" if hi is None else _val(hi)
    if lo is None:
        left = "("
    if hi is None:
        right = ")"
    return f"{left}{lo_s}, {hi_s}{right}"


def _val(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, int) and abs(v) >= 10**6:
        return f"{v:.3g}" if abs(v) >= 10**12 else f"{v:,}"
    if v is None:
        return "–"
    return str(v)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def param_table(cls, scenario_values: dict[str, Any] | None = None, prefix: str = "") -> str:
    """Markdown table of a pydantic model's scalar fields.

    Args:
        cls: the pydantic model class.
        scenario_values: the values of these fields in the bundled scenario (column shown if
            given).
        prefix: key path prefix shown in the first column (e.g. ``levers.``).
    """
    from pydantic import BaseModel

    head = "| key | type | default | cpsu | allowed | description |"
    rule = "|---|---|---|---|---|---|"
    if scenario_values is None:
        head = "| key | type | default | allowed | description |"
        rule = "|---|---|---|---|---|"
    lines = [head, rule]
    for name, f in cls.model_fields.items():
        ann = f.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            continue
        default = f.default if f.default_factory is None else f.default_factory()
        shown_default = "required" if f.is_required() else _val(default)
        cells = [f"`{prefix}{f.alias or name}`", _type_name(ann), shown_default]
        if scenario_values is not None:
            sv = scenario_values.get(name)
            shown = _val(sv)
            cells.append(f"**{shown}**" if sv != default else shown)
        cells += [_bounds(f), _cell(f.description or "")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _docstring(obj) -> str:
    return inspect.cleandoc(obj.__doc__ or "")


def _md_docstring(text: str) -> str:
    """Module docstring as Markdown: RST double backticks to single, headings removed."""
    text = text.replace("``", "`")
    return text.strip()


def blocks() -> dict[str, str]:
    """Every generated block of ODD.md: name -> Markdown."""
    from .mechanisms import MODULES
    from .models import cpsu
    from .scenario import load_scenario

    sc = load_scenario("cpsu").to_dict()
    out: dict[str, str] = {}
    out["params-run"] = param_table(cpsu.RunSettings, sc["run"], "run.")
    out["params-initial"] = param_table(cpsu.Initial, sc["initial"], "initial.")
    out["params-levers"] = param_table(cpsu.Levers, sc["levers"], "levers.")
    ev = []
    for cls in (cpsu.LeverEvent, cpsu.ShockEvent, cpsu.PurgeEvent, cpsu.MortalityEvent,
                cpsu.CrisisEvent, cpsu.DissolutionEvent):
        tag = _type_name(cls.model_fields["type"].annotation)
        ev.append(f"**{cls.__name__}** (type = {tag}) — {_cell(_docstring(cls))}\n\n"
                  + param_table(cls))
    ev.append(f"**Hold** (`[hold.<lever>]`) — {_cell(_docstring(cpsu.Hold))}\n\n"
              + param_table(cpsu.Hold, prefix="hold.<lever>."))
    out["params-events"] = "\n\n".join(ev)
    ids = {"recruitment": "M1", "demography": "M2", "shocks": "M3", "ritual": "M4",
           "privilege": "M5", "legitimacy": "M6", "openness": "M7", "elite": "M8",
           "exit": "M9", "crisis": "M10", "remedies": "M11", "commitment": "M12"}
    order = sorted(MODULES, key=lambda n: int(ids.get(n, "M99")[1:]))
    sub = []
    for name in order:
        mod = MODULES[name]
        doc = _md_docstring(_docstring(mod))
        title, _, body = doc.partition("\n")
        state = ", ".join(f"`{n}` ({np_name(dt)})" for n, dt, _ in mod.STATE) or "none"
        sub.append(
            f"### {title.strip()}\n\n"
            f"Module `allegiance.mechanisms.{name}`; agent attributes owned: {state}.\n\n"
            f"{body.strip()}\n\n"
            f"Parameters (`mechanisms.{name}.*`) — {_cell(_docstring(mod.Params))}\n\n"
            + param_table(mod.Params, sc["mechanisms"][name], f"mechanisms.{name}."))
    out["submodels"] = "\n\n".join(sub)
    from .architecture import layers_md
    from .models.cpsu.phases import phase_table_md

    out["month-phases"] = phase_table_md()
    out["month-phases-sequential"] = phase_table_md("sequential")
    out["layers"] = layers_md()
    return {k: v.rstrip() + "\n" for k, v in out.items()}


def np_name(dtype) -> str:
    """Short name of a numpy dtype class (float32, int8, bool)."""
    import numpy as np

    return np.dtype(dtype).name


def render(text: str, generated: dict[str, str] | None = None) -> str:
    """``text`` with every generated block replaced by the current one."""
    gen = blocks() if generated is None else generated

    def _sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in gen:
            raise KeyError(f"ODD.md has a generated block '{name}' the code does not produce "
                           f"(known: {', '.join(gen)})")
        return f"{BEGIN.format(name)}\n{gen[name]}{END.format(name)}"

    return _BLOCK.sub(_sub, text)


def replace_blocks(text: str, blocks: dict[str, str]) -> str:
    """``text`` with the generated blocks named in ``blocks`` replaced by their new bodies
    (the doc's other generated blocks are kept); ``KeyError`` for a name ``text`` lacks."""
    missing = [n for n in blocks if BEGIN.format(n) not in text]
    if missing:
        raise KeyError(f"no generated block {', '.join(missing)}")

    def _sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in blocks:
            return m.group(0)
        return f"{BEGIN.format(name)}\n{blocks[name]}{END.format(name)}"

    return _BLOCK.sub(_sub, text)


def blocks_parser(description: str, path: Path):
    """The arguments every docs script takes: ``--write``, ``--check`` and ``--path`` (the doc,
    by default ``path``); a script adds its own before parsing."""
    import argparse

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--write", action="store_true", help="put the blocks into the doc")
    ap.add_argument("--check", action="store_true", help="exit 1 if the doc differs")
    ap.add_argument("--path", type=Path, default=path)
    return ap


def emit_blocks(args, blocks: dict[str, str], command: str) -> int:
    """A docs script's end: print the blocks, or with ``--write``/``--check`` (``args`` of
    :func:`blocks_parser`) write or compare them (:func:`write_blocks`)."""
    if not (args.write or args.check):
        print("\n\n".join(blocks.values()))
        return 0
    return write_blocks(args.path, blocks, args.check, command)


def write_blocks(path: Path, blocks: dict[str, str], check: bool, command: str) -> int:
    """Put ``blocks`` into the doc at ``path``, or with ``check`` only compare: the exit status
    of a docs script (1, with a line naming ``command``, when the doc is stale)."""
    import sys

    text = path.read_text(encoding="utf-8")
    try:
        new = replace_blocks(text, blocks)
    except KeyError as exc:
        print(f"{path}: {exc.args[0]}", file=sys.stderr)
        return 1
    if check:
        if new != text:
            print(f"{path}: generated blocks {', '.join(blocks)} are stale; run {command}",
                  file=sys.stderr)
            return 1
        return 0
    path.write_text(new, encoding="utf-8")
    return 0


def stale_blocks(path: str | Path, names: list[str] | None = None) -> list[str]:
    """Names of the generated blocks of ``path`` that differ from the code (or are missing):
    of ``names``, or of every block the code produces."""
    text = Path(path).read_text(encoding="utf-8")
    gen = blocks()
    present = {m.group(1): m.group(2) for m in _BLOCK.finditer(text)}
    return [n for n in (gen if names is None else names) if present.get(n) != gen.get(n)]


#: the docs with generated blocks, and the blocks each must hold
DOCS = {"docs/ODD.md": ["params-run", "params-initial", "params-levers", "params-events",
                        "submodels", "month-phases", "month-phases-sequential"],
        "docs/ARCHITECTURE.md": ["layers", "month-phases"]}
