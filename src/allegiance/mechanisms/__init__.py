"""The CPSU model's mechanisms, one module each (M1–M12 in the brief).

Every mechanism module has the same small interface:

* ``ID`` — its id in the brief (``"M4"``), and its essay sections in its docstring;
* ``Params`` — its parameters, a pydantic model with ``enabled`` (the scenario's
  ``[mechanisms.<module>]`` table);
* ``STATE`` — the agent attributes it owns, ``[(name, dtype, initial value), ...]``;
* ``FLOWS`` — the flows it counts (columns of ``timeseries.parquet``);
* ``Terms`` and ``terms(ctx)`` — the constants its equations need this month, a typed record
  computed once a month from the month's :class:`~allegiance.mechanisms.context.Context`
  (``None`` when the mechanism does nothing this month); plain Python, also registered with
  numba (``@register_jitable``) so that compiled code running many months at once computes
  them from the same source (:mod:`allegiance.mechanisms.compiled`);
* its equations as per-agent functions that numba compiles inline into the kernels (e.g.
  ``ritual.erode_one``) — the one place each equation is written.

A mechanism never reads the model itself: only the :class:`~.context.Context` it is given.
The model runs the mechanisms in one documented order (:mod:`allegiance.models.cpsu`), fused
into a few passes over the agents (:mod:`allegiance.models.cpsu.month`), whose kernels call the
mechanisms' equations: one edit to an equation changes the model everywhere.
``docs/ARCHITECTURE.md`` shows how to add a mechanism.

| id  | module        | essay         |
|-----|---------------|---------------|
| M1  | recruitment   | §1.1–1.3      |
| M2  | demography    | §1.1–1.2      |
| M3  | shocks        | §2.1–2.2, §3.2|
| M4  | ritual        | §2.3          |
| M5  | privilege     | §1.2, §3.1    |
| M6  | legitimacy    | §3.1, §4.3    |
| M7  | openness      | §3.2          |
| M8  | elite         | §4.2          |
| M9  | exit          | (data)        |
| M10 | crisis        | §4            |
| M11 | remedies      | §5.1          |
| M12 | commitment    | §4 (outputs)  |
"""

from __future__ import annotations

from . import (
    commitment,
    crisis,
    demography,
    elite,
    exit,
    legitimacy,
    openness,
    privilege,
    recruitment,
    remedies,
    ritual,
    shocks,
)

#: module name -> module, in the order their parameters appear in a scenario
MODULES = {
    "recruitment": recruitment,
    "demography": demography,
    "shocks": shocks,
    "ritual": ritual,
    "privilege": privilege,
    "legitimacy": legitimacy,
    "openness": openness,
    "elite": elite,
    "exit": exit,
    "crisis": crisis,
    "remedies": remedies,
    "commitment": commitment,
}

#: what a module needs to be a mechanism
INTERFACE = ("ID", "Params", "STATE", "FLOWS")


def load_addon(spec: str, name: str):
    """The module of an added mechanism: ``package.module`` or a path to a ``.py`` file.

    It must have the mechanism interface (:data:`INTERFACE`) and ``phase(ctx, agents)``, the
    function the model runs once a month (after the phase named by its ``AFTER``, default
    ``members_end``); raises ``ValueError`` with what is missing."""
    import hashlib
    import importlib
    import importlib.util
    import sys
    from pathlib import Path

    try:
        if spec.endswith(".py"):
            path = Path(spec).expanduser().resolve()
            key = "allegiance_addon_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
            mod = sys.modules.get(key)
            if mod is None:
                loader = importlib.util.spec_from_file_location(key, path)
                if loader is None or not path.is_file():
                    raise ImportError(f"no file {path}")
                mod = importlib.util.module_from_spec(loader)
                sys.modules[key] = mod
                loader.loader.exec_module(mod)
        else:
            mod = importlib.import_module(spec)
    except ImportError as e:
        raise ValueError(f"mechanisms.{name}.module = {spec!r}: cannot import it ({e})") from e
    missing = [a for a in (*INTERFACE, "phase") if not hasattr(mod, a)]
    if missing:
        raise ValueError(f"mechanisms.{name}.module = {spec!r}: not a mechanism (it lacks "
                         f"{', '.join(missing)}; see docs/ARCHITECTURE.md)")
    return mod


__all__ = ["INTERFACE", "MODULES", "load_addon"]
