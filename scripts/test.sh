#!/usr/bin/env bash
# Installs storyvis_tf with its test extra into .venv and runs the whole test suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
STORYVIS_EXTRAS="[test]" . scripts/setup_env.sh
# The story page's browser test drives Debian's headless Chromium: install it where we can (root
# with apt-get); elsewhere that test prints why it skips.
if ! command -v chromedriver >/dev/null 2>&1 && [ "$(id -u)" = 0 ] \
    && command -v apt-get >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      chromium chromium-driver; } >/dev/null 2>&1 \
    || echo "scripts/test.sh: could not install chromium (the browser test will skip)"
fi
python -m pytest -q -rs tests "$@"   # -rs: say why a test skipped
