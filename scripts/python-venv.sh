#!/usr/bin/env bash
# Prints the path of a Python virtual environment with torch, torchvision and pytest, creating it when
# missing. It lives outside the repository (torch is large): $GRAPHCHECK_VENV, default ~/.cache/graphcheck-venv.
set -euo pipefail
venv=${GRAPHCHECK_VENV:-$HOME/.cache/graphcheck-venv}
if ! "$venv/bin/python" -c "import torch, torchvision, pytest" >/dev/null 2>&1; then
    echo "python-venv: installing torch, torchvision and pytest into $venv (once; several minutes)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check torch torchvision pytest >&2
fi
echo "$venv"
