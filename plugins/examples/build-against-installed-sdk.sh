#!/usr/bin/env bash
# Proves the SDK works out of tree: installs the Switchyard SDK and built-in plugins from a build
# directory into a prefix, builds plugins/examples/netstring against that prefix with
# find_package(Switchyard), and loads the result through Codec::open (via unit_codec's netstring
# tests) when the build directory has unit tests.
#
#   plugins/examples/build-against-installed-sdk.sh <build-dir> <prefix> <out-dir>
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 <switchyard-build-dir> <install-prefix> <example-build-dir>" >&2
  exit 2
fi
build_dir=$1
prefix=$2
out_dir=$3
here=$(cd "$(dirname "$0")" && pwd)

# The install needs the plugin modules built; everything else of the daemon is not needed here.
cmake --build "$build_dir" --target switchyard_builtin_codecs
for component in switchyard_sdk switchyard_plugins; do
  cmake --install "$build_dir" --prefix "$prefix" --component "$component"
done

generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
cmake -S "$here/netstring" -B "$out_dir" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$out_dir"

plugin="$out_dir/switchyard_codec_netstring.so"
[[ -f "$plugin" ]] || { echo "expected $plugin" >&2; exit 1; }
exported=$(nm -D --defined-only "$plugin" | awk '$2 == "T" {print $3}')
if [[ "$exported" != "swy_codec_entry_v1" ]]; then
  echo "plugin should export exactly swy_codec_entry_v1, exports: $exported" >&2
  exit 1
fi
echo "built $plugin (exports swy_codec_entry_v1)"

unit_codec="$build_dir/tests/unit/codec/unit_codec"
if [[ -x "$unit_codec" ]]; then
  SWITCHYARD_NETSTRING_PLUGIN=$(cd "$(dirname "$plugin")" && pwd)/$(basename "$plugin") \
    "$unit_codec" "[netstring]"
else
  echo "no unit_codec in $build_dir: skipped loading the plugin through Codec::open"
fi
