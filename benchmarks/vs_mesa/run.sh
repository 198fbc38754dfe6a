#!/usr/bin/env bash
# Epstein civil violence: allegiance vs Mesa 3.5's example, side by side (a benchmark; CI does
# not run it). Builds its own virtual environment with Mesa (Python >= 3.12) in .venv-mesa/.
#
#   bash benchmarks/vs_mesa/run.sh [equivalence|speed|all] [extra args for compare.py]
#
# Environment: MESA_PYTHON (default python3.12; e.g. /root/.pyenv/versions/3.12.1/bin/python),
# ALLEGIANCE_PYTHON (default python3; must import allegiance, e.g. /work/venv/bin/python with
# PYTHONPATH=src).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
MESA_PYTHON="${MESA_PYTHON:-python3.12}"
ALLEGIANCE_PYTHON="${ALLEGIANCE_PYTHON:-python3}"
venv="$here/.venv-mesa"
if [ ! -x "$venv/bin/python" ]; then
  "$MESA_PYTHON" -m venv "$venv"
  # networkx: mesa 3.5.1 imports it at start-up without declaring it
  "$venv/bin/pip" install --quiet "mesa==3.5.1" networkx scipy
fi
export PYTHONPATH="$root/src${PYTHONPATH:+:$PYTHONPATH}"
what="${1:-all}"
shift || true
exec "$venv/bin/python" "$here/compare.py" "$what" --allegiance-python "$ALLEGIANCE_PYTHON" "$@"
