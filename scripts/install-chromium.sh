#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser tests (dashboard/browser_test.go),
# which are skipped, saying so, without it. Idempotent: nothing to do when it is there.
set -euo pipefail
if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then
  echo "chromium: $(command -v chromium || echo /usr/bin/chromium) present"
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "chromium: not installed and not root (no sudo): the browser tests will be skipped" >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "chromium: $(chromium --version 2>/dev/null || echo installed)"
