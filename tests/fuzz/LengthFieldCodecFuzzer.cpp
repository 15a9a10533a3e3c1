// libFuzzer target: the `length-field` codec's decode (and create's option parsing).
#include "tests/fuzz/CodecFuzzDriver.hpp"

namespace {
using Set = switchyard::fuzz::OptionSet;

const switchyard::fuzz::CodecFuzzTarget& fuzz_target() {
    static const switchyard::fuzz::CodecFuzzTarget target{
        "length-field",
        {Set{},
         Set{{"length_field_length", "2"}, {"initial_bytes_to_strip", "0"}},
         Set{{"length_field_length", "2"}, {"length_adjustment", "-2"},
             {"initial_bytes_to_strip", "0"}},
         Set{{"length_field_offset", "2"}, {"length_field_length", "3"},
             {"initial_bytes_to_strip", "0"}},
         Set{{"length_field_length", "3"}, {"length_adjustment", "2"},
             {"initial_bytes_to_strip", "0"}},
         Set{{"length_field_offset", "1"}, {"length_field_length", "2"},
             {"length_adjustment", "1"}, {"initial_bytes_to_strip", "3"}},
         Set{{"length_field_offset", "1"}, {"length_field_length", "2"},
             {"length_adjustment", "-3"}, {"initial_bytes_to_strip", "3"}},
         Set{{"length_field_length", "8"}, {"byte_order", "little"}},
         Set{{"length_field_length", "1"}, {"max_frame", "32"}},
         Set{{"length_field_length", "2"}, {"length_includes_header", "true"},
             {"byte_order", "little"}},
         Set{{"length_field_length", "8"}, {"length_adjustment", "-1099511627776"}},
         Set{{"length_field_length", "1"}, {"initial_bytes_to_strip", "10"}}},
        {"length_field_offset", "length_field_length", "length_adjustment",
         "initial_bytes_to_strip", "byte_order", "length_includes_header", "max_frame"},
        {"0", "1", "2", "3", "4", "5", "8", "-1", "-4", "-1099511627776", "1099511627776", "big",
         "little", "true", "false", "64KiB", "16"},
        /*encode_always_succeeds=*/true,
    };
    return target;
}
}  // namespace

SWITCHYARD_CODEC_FUZZER(fuzz_target)
