// libFuzzer target: the `line` codec's decode (and create's option parsing).
#include "tests/fuzz/CodecFuzzDriver.hpp"

namespace {
const switchyard::fuzz::CodecFuzzTarget& fuzz_target() {
    static const switchyard::fuzz::CodecFuzzTarget target{
        "line",
        {{}, {{"strip_cr", "true"}}, {{"max_frame", "16"}}, {{"strip_cr", "true"}, {"max_frame", "8"}}},
        {"strip_cr", "max_frame"},
        {"true", "false", "1", "16", "1KiB", "64KiB", "0", "-1", "4GiB"},
        /*encode_always_succeeds=*/false,  // strip_cr: "\r\n" makes a max_frame line one too long
    };
    return target;
}
}  // namespace

SWITCHYARD_CODEC_FUZZER(fuzz_target)
