#!/usr/bin/env bash
# The exporter against the model's own forward pass: see bench/export_speed.py. Usage: bench/export-speed.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
venv=$(./scripts/python-venv.sh)
"$venv/bin/python" bench/export_speed.py "${1:-5}"
