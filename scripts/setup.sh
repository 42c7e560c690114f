#!/usr/bin/env bash
# Installs what graphcheck needs on a fresh Debian machine, and only what is missing: the Swift toolchain
# must already be there; Graphviz's C library (libgvc, for rendering) and pkg-config come from apt.
# `setup.sh browser` also installs headless Chromium and its driver, for the browser tests.
set -euo pipefail

if ! command -v swift >/dev/null 2>&1; then
    echo "setup: the Swift 6 toolchain is required (https://swift.org/install) and was not found on PATH" >&2
    exit 1
fi

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
pkg-config --exists libgvc 2>/dev/null || missing+=(libgraphviz-dev)
# Pictures name Helvetica: Graphviz measures their text, and a browser draws it, in Liberation Sans (metric
# twin of Helvetica and Arial), so labels fit their boxes in any browser that has one of the three.
fc-list 2>/dev/null | grep -q "Liberation Sans" || missing+=(fonts-liberation)
if [ "${1:-}" = browser ]; then
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
fi

if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]} with apt-get"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
