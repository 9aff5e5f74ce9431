#!/usr/bin/env bash
# Independent Python oracles for the cross-check suite: py_ecc (BLS, the reference the consensus
# specs use) and eth2spec (the specs' SSZ containers and helpers).
# eth2spec 1.1.10 pins milagro-bls-binding 1.6.3, which PyPI no longer has; it is installed
# without its pins, beside the versions it was released with (py_ecc 5.2, remerkleable 0.1.24).
set -euo pipefail
venv="$NEKTAR_CACHE/python"
if ! "$venv/bin/python" -c 'import py_ecc, eth2spec.phase0.mainnet' >/dev/null 2>&1; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "py_ecc==5.2.0" "remerkleable==0.1.24" "milagro_bls_binding==1.9.1" "eth-utils==1.10.0" "lru-dict" "pycryptodome" "ruamel.yaml<0.18" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "eth2spec==1.1.10" >&2
  "$venv/bin/python" -c 'import py_ecc, eth2spec.phase0.mainnet' >&2
fi
echo "export NEKTAR_PYTHON=$venv/bin/python"
# schemathesis: fuzzes the AVS gateway against its own OpenAPI document (test/system/avs), in its own venv.
st="$NEKTAR_CACHE/schemathesis"
if ! "$st/bin/schemathesis" --version 2>/dev/null | grep -q "4.32.5"; then rm -rf "$st" && python3 -m venv "$st" && "$st/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5" >&2; fi
echo "export NEKTAR_SCHEMATHESIS=$st/bin/schemathesis"
