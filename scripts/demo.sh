#!/usr/bin/env bash
# Installs storyvis_tf into .venv and runs the demo on the embedded synthetic dataset.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup_env.sh
python -m pipelines.demo --output_dir="${1:-demo_output}"
