// libFuzzer target: the `fixed-length` codec's decode (and create's option parsing).
#include "tests/fuzz/CodecFuzzDriver.hpp"

namespace {
const switchyard::fuzz::CodecFuzzTarget& fuzz_target() {
    static const switchyard::fuzz::CodecFuzzTarget target{
        "fixed-length",
        {{{"frame_length", "1"}}, {{"frame_length", "4"}}, {{"frame_length", "7"}},
         {{"frame_length", "64"}}},
        {"frame_length"},
        {"0", "1", "3", "1KiB", "1TiB", "x"},
        /*encode_always_succeeds=*/true,
    };
    return target;
}
}  // namespace

SWITCHYARD_CODEC_FUZZER(fuzz_target)
