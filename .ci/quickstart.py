"""Print the README's Quickstart commands, one per line, as the README writes them.

    python3 .ci/quickstart.py README.md

The Quickstart section (from ``## Quickstart`` to the next ``## ``) holds fenced ``bash`` blocks
of one command line each: the first installs and runs the main job, the second installs and
runs the tests. ``.ci/run`` runs them in that order in a fresh clone, so the README's commands
are what CI checks. Exit 1 if the section or its two commands are missing.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def commands(readme: str) -> list[str]:
    """The command lines of the Quickstart's ``bash`` blocks, in order."""
    m = re.search(r"^## Quickstart\n(.*?)(?=^## )", readme, re.M | re.S)
    if m is None:
        return []
    blocks = re.findall(r"^```bash\n(.*?)^```", m.group(1), re.M | re.S)
    return [" ".join(b.replace("\\\n", " ").split()) for b in blocks]


def main(argv: list[str]) -> int:
    cmds = commands(Path(argv[0] if argv else "README.md").read_text(encoding="utf-8"))
    if len(cmds) != 2 or "allegiance run" not in cmds[0] or "pytest" not in cmds[1]:
        print(f"README Quickstart: expected the run command and the test command, got {cmds}",
              file=sys.stderr)
        return 1
    print("\n".join(cmds))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
