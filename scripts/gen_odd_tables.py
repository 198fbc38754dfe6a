"""Regenerate (or check) the generated blocks of docs/ODD.md from the code.

Usage (from the repository root):

    PYTHONPATH=src python scripts/gen_odd_tables.py          # rewrite docs/ODD.md in place
    PYTHONPATH=src python scripts/gen_odd_tables.py --check  # exit 1 if ODD.md is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from allegiance import odd  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    ap.add_argument("--path", type=Path, default=ROOT / "docs" / "ODD.md")
    args = ap.parse_args(argv)
    if args.check:
        stale = odd.stale_blocks(args.path)
        if stale:
            print(f"{args.path}: stale generated blocks: {', '.join(stale)}; run "
                  "python scripts/gen_odd_tables.py", file=sys.stderr)
            return 1
        print(f"{args.path}: generated blocks match the code")
        return 0
    text = args.path.read_text(encoding="utf-8")
    new = odd.render(text)
    if new != text:
        args.path.write_text(new, encoding="utf-8")
        print(f"{args.path}: updated")
    else:
        print(f"{args.path}: already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
