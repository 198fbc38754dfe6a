"""Regenerate (or check) the generated blocks of the docs (docs/ODD.md, docs/ARCHITECTURE.md)
from the code.

Usage (from the repository root):

    PYTHONPATH=src python scripts/gen_odd_tables.py          # rewrite the docs in place
    PYTHONPATH=src python scripts/gen_odd_tables.py --check  # exit 1 if a doc is stale
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
    ap.add_argument("--path", type=Path, action="append",
                    help="a doc to process (default: every doc in odd.DOCS)")
    args = ap.parse_args(argv)
    docs = {p: odd.DOCS.get(str(p.relative_to(ROOT)) if p.is_absolute() else str(p))
            for p in args.path} if args.path else {ROOT / k: v for k, v in odd.DOCS.items()}
    status = 0
    for path, names in docs.items():
        if args.check:
            stale = odd.stale_blocks(path, names)
            if stale:
                print(f"{path}: stale generated blocks: {', '.join(stale)}; run "
                      "python scripts/gen_odd_tables.py", file=sys.stderr)
                status = 1
            else:
                print(f"{path}: generated blocks match the code")
            continue
        text = path.read_text(encoding="utf-8")
        new = odd.render(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"{path}: updated")
        else:
            print(f"{path}: already up to date")
    return status


if __name__ == "__main__":
    sys.exit(main())
