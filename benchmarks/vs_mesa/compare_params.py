"""Settings shared by both sides of the Epstein vs Mesa benchmark.

Defaults are Run 2's setting (``epstein_run2`` but Mesa's grid and rule). ``settings(args)``
overrides them from a TOML file (``--settings FILE``, keys as in ``DEFAULTS``) and then from
flags (``--citizen-density`` ...), so a comparison can be rerun at any setting.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

DEFAULTS = {"citizen_density": 0.7, "cop_density": 0.04, "legitimacy": 0.82, "max_jail_term": 30,
            "vision": 7}
PARAMS = dict(DEFAULTS)  # what kernel_cpu.py and older callers import

FLAGS = {"citizen_density": float, "cop_density": float, "legitimacy": float,
         "max_jail_term": int, "vision": int}


def add_flags(ap) -> None:
    """``--settings FILE`` and one flag per setting (``--cop-density 0.074`` ...)."""
    ap.add_argument("--settings", type=Path, help="TOML file of settings (keys of DEFAULTS)")
    for k, t in FLAGS.items():
        ap.add_argument("--" + k.replace("_", "-"), type=t, default=None)


def settings(args) -> dict:
    """The defaults, then the file, then the flags; an unknown key is an error."""
    p = dict(DEFAULTS)
    if getattr(args, "settings", None):
        raw = tomllib.loads(Path(args.settings).read_text())
        bad = sorted(set(raw) - set(FLAGS))
        if bad:
            raise SystemExit(f"{args.settings}: unknown keys {bad}; allowed {sorted(FLAGS)}")
        p.update({k: FLAGS[k](v) for k, v in raw.items()})
    for k in FLAGS:
        v = getattr(args, k, None)
        if v is not None:
            p[k] = v
    return p
