#!/usr/bin/env bash
# Switchyard benchmark driver: see run-bench.py and README.md in this directory.
set -euo pipefail
exec python3 "$(dirname "$(readlink -f "$0")")/run-bench.py" "$@"
