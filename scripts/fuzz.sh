#!/usr/bin/env bash
# Runs every fuzz target of the module for a short time each (default 5s):
# `make test` calls it so that each parser and decoder is fuzzed on every run.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-5s}
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r file; do
  pkg="./$(dirname "${file#./}")"
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
    echo "fuzz $pkg $target ($fuzztime)"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg" >/tmp/garde-fuzz.log 2>&1 || { cat /tmp/garde-fuzz.log; exit 1; }
  done
done
