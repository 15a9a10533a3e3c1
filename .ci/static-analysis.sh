#!/usr/bin/env bash
# Static analysis of the project's own sources (core/, config/, daemon/, plugins/), both at zero
# findings: clang-tidy with the checked-in .clang-tidy over build/default's compile database,
# and cppcheck over the same database. Needs a configured default build (the README's build).
set -euo pipefail
cd "$(dirname "$0")/.."
db=build/default/compile_commands.json
[ -f "$db" ] || { echo "static-analysis: run cmake --preset default first ($db missing)" >&2; exit 1; }
# The project's own translation units: a compile database of just those (tests and benchmarks
# are not in the zero-findings scope).
project_db=build/default/compile_commands.project.json
sources=$(python3 - "$db" "$project_db" <<'PY'
import json, os, sys
root = os.getcwd()
own = [e for e in json.load(open(sys.argv[1]))
       if os.path.relpath(e["file"], root).split("/")[0] in ("core", "config", "daemon", "plugins")]
json.dump(own, open(sys.argv[2], "w"))
for e in own:
    print(os.path.relpath(e["file"], root))
PY
)
echo "static-analysis: clang-tidy on $(echo "$sources" | wc -l) files"
run-clang-tidy -quiet -p build/default -j "$(nproc)" $sources > build/default/clang-tidy.log 2>&1 || true
if grep -E "(warning|error): " build/default/clang-tidy.log | grep -qv "warnings generated"; then
  grep -E -A3 "(warning|error): " build/default/clang-tidy.log | sed -n 1,200p
  echo "static-analysis: clang-tidy found problems (full log: build/default/clang-tidy.log)" >&2
  exit 1
fi
echo "static-analysis: clang-tidy clean"

echo "static-analysis: cppcheck"
cppcheck --project="$project_db" --enable=warning,performance,portability --inline-suppr --quiet \
  --suppress='*:/usr/*' --suppress=missingIncludeSystem --error-exitcode=1 \
  -j "$(nproc)" 2> build/default/cppcheck.log || { cat build/default/cppcheck.log; echo "static-analysis: cppcheck found problems" >&2; exit 1; }
echo "static-analysis: cppcheck clean"
