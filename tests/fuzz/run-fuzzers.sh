#!/usr/bin/env bash
# Runs every libFuzzer target found in a fuzz build for a fixed time each; builds nothing.
#
#   tests/fuzz/run-fuzzers.sh <fuzz-build-dir> [seconds-per-target (default 30)] [target...]
#
# Seeds come from tests/fuzz/corpus/<target>/ (and config/examples/ for the config loader);
# inputs found during the run go to a scratch corpus, so the repository is never written.
# Exits non-zero when a target crashes, leaks, trips a sanitizer or is missing; the crash input
# is kept in <fuzz-build-dir>/fuzz-artifacts/<target>/.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 <fuzz-build-dir> [seconds-per-target] [target...]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
seconds=${2:-30}
shift $(( $# >= 2 ? 2 : 1 ))
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(fuzz_codec_line fuzz_codec_delimiter fuzz_codec_length_field fuzz_codec_fixed_length
           fuzz_proxy_header fuzz_datagram_decode fuzz_config_loader)
fi

# The codec fuzzers load the plugins of this build, not an installed copy.
export SWITCHYARD_PLUGIN_DIR="$build_dir/plugins"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in "${targets[@]}"; do
  binary=$(find "$build_dir/tests/fuzz" -maxdepth 1 -type f -name "$target" -perm -u+x | head -n1)
  if [[ -z "$binary" ]]; then
    if [[ "$target" == fuzz_config_loader ]]; then
      echo "== $target: not built (config loader absent in this build), skipped"
      continue
    fi
    echo "== $target: not found in $build_dir/tests/fuzz" >&2
    failed+=("$target")
    continue
  fi
  seeds=("$here/corpus/$target")
  [[ "$target" == fuzz_config_loader && -d "$repo/config/examples" ]] && seeds+=("$repo/config/examples")
  artifacts="$build_dir/fuzz-artifacts/$target"
  mkdir -p "$scratch/$target" "$artifacts"
  echo "== $target: ${seconds}s"
  if ! "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$scratch/$target" "${seeds[@]}" \
        > "$scratch/$target.log" 2>&1; then
    tail -n 60 "$scratch/$target.log" >&2
    echo "== $target: FAILED (artifacts in $artifacts)" >&2
    failed+=("$target")
  else
    grep -E "^stat::number_of_executed_units|^Done" "$scratch/$target.log" || true
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzzing failed: ${failed[*]}" >&2
  exit 1
fi
echo "all fuzz targets ran clean"
