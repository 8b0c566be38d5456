#!/usr/bin/env bash
# Creates .venv (Python 3.11) and installs storyvis_tf into it; sourced by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install --quiet --upgrade pip "setuptools<82" wheel
python -m pip install --quiet -e ".${STORYVIS_EXTRAS:-}"
