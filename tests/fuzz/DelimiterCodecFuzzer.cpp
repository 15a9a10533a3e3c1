// libFuzzer target: the `delimiter` codec's decode (and create's option parsing).
#include "tests/fuzz/CodecFuzzDriver.hpp"

namespace {
const switchyard::fuzz::CodecFuzzTarget& fuzz_target() {
    static const switchyard::fuzz::CodecFuzzTarget target{
        "delimiter",
        {{{"delimiter", "\\r\\n"}},
         {{"delimiter", "\\0"}},
         {{"delimiter", "\\x00\\xff"}, {"max_frame", "32"}},
         {{"delimiter", "aa"}},
         {{"delimiter", "--END--"}, {"max_frame", "16"}}},
        {"delimiter", "max_frame"},
        {"\\r\\n", "\\0", "\\xff", "abcabd", "\\x", "\\", "", "8", "1KiB"},
        /*encode_always_succeeds=*/true,
    };
    return target;
}
}  // namespace

SWITCHYARD_CODEC_FUZZER(fuzz_target)
