#!/usr/bin/env bash
# Creates lab/.venv and installs the lab's exact, locked dependencies (plus the lab itself, editable).
# torch==2.13.0 resolves to the CPU wheel that lies on this machine kind's disk (/opt/wheels via pip's
# config); never install an unpinned torch (it pulls a multi-GB CUDA build).
# Usage: bash lab/setup.sh            (from anywhere; idempotent)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3
start=$(date +%s)
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.lock
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
echo "lab/.venv ready in $(( $(date +%s) - start )) s ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
