#!/usr/bin/env bash
# Installs what the tests need beyond Go: Debian's chromium (the banner's
# browser test) and the IAB's JavaScript TCF library (the TC string
# cross-check). Missing parts make those tests skip loudly on a workstation;
# under CI=true they are mandatory, so this script must succeed there.
set -euo pipefail
cd "$(dirname "$0")/.."
ci=${CI:-}
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing chromium (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  elif command -v sudo >/dev/null 2>&1 && [ "$ci" = true ]; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "deps: chromium is missing: the browser tests will be SKIPPED (apt-get install chromium)" >&2
  fi
fi
if [ ! -d consent/tcf/testdata/js/node_modules ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "deps: npm ci consent/tcf/testdata/js"
    npm ci --prefix consent/tcf/testdata/js --no-audit --no-fund --silent
  else
    echo "deps: npm is missing: the IAB TCF cross-check will be SKIPPED" >&2
  fi
fi
