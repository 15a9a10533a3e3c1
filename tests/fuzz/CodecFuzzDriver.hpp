#pragma once
// Shared body of the codec fuzz targets: load the real plugin through Codec::open, pick an
// option set from the first input byte (a preset, or options built from the input so create()'s
// parsing is fuzzed too), then stream the rest through decode in input-chosen chunk sizes the
// way a session does, checking every frame's bounds and the encode/decode round trip.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace switchyard::fuzz {

using OptionSet = std::vector<std::pair<std::string, std::string>>;

struct CodecFuzzTarget {
    const char* plugin;                 // built-in name, e.g. "line"
    std::vector<OptionSet> presets;     // valid option sets (must all open)
    std::vector<std::string> keys;      // option names to build random option sets from
    std::vector<std::string> values;    // interesting values to pick from besides random bytes
    bool encode_always_succeeds;        // a decoded payload must re-encode (else: may refuse)
};

// Opens the presets (loading the plugin). Call from LLVMFuzzerInitialize.
void prepare_codec(const CodecFuzzTarget& target);

// Runs one input; traps on any violated invariant. Thread: libFuzzer's.
int fuzz_codec(const CodecFuzzTarget& target, const std::uint8_t* data, std::size_t size);

}  // namespace switchyard::fuzz

// Defines the libFuzzer entry points for one codec target: the plugin is loaded before fuzzing
// starts (so libFuzzer knows its coverage counters), then every input runs through fuzz_codec.
// `target_fn` names a function returning `const CodecFuzzTarget&`.
#define SWITCHYARD_CODEC_FUZZER(target_fn)                                                    \
    extern "C" int LLVMFuzzerInitialize(int*, char***) {                                      \
        switchyard::fuzz::prepare_codec(target_fn());                                         \
        return 0;                                                                             \
    }                                                                                         \
    extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {      \
        return switchyard::fuzz::fuzz_codec(target_fn(), data, size);                         \
    }
