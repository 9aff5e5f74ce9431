#!/usr/bin/env bash
# The Python reference implementations used as independent oracles: py_ecc (BLS) and eth2spec (SSZ).
set -euo pipefail
venv="$NEKTAR_CACHE/python"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import py_ecc, eth2spec' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r "$(dirname "$0")/python-requirements.txt" >&2
fi
echo "export NEKTAR_PYTHON=$venv/bin/python"
