#!/usr/bin/env bash
# Installs storyvis_tf with its test extra into .venv and runs the whole test suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
STORYVIS_EXTRAS="[test]" . scripts/setup_env.sh
python -m pytest -q tests "$@"
