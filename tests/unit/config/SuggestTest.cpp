#include <catch2/catch.hpp>

#include <array>

#include "core/options/Suggest.hpp"

using namespace switchyard;

TEST_CASE("edit_distance counts a swap of neighbours as one edit", "[config][suggest]") {
    CHECK(edit_distance("reuse_prot", "reuse_port") == 1);
    CHECK(edit_distance("", "abc") == 3);
    CHECK(edit_distance("abc", "") == 3);
    CHECK(edit_distance("kitten", "sitting") == 3);
    CHECK(edit_distance("same", "same") == 0);
}

TEST_CASE("suggest offers only plausible typos", "[config][suggest]") {
    constexpr std::array<std::string_view, 4> keys = {"name", "listen", "reuse_port", "buffer_size"};
    CHECK(suggest("reuse_prot", keys) == "reuse_port");
    CHECK(suggest("lisen", keys) == "listen");
    CHECK(suggest("Name", keys) == "name");
    CHECK(suggest("buffersize", keys) == "buffer_size");
    CHECK_FALSE(suggest("timeout", keys).has_value());
    CHECK_FALSE(suggest("x", keys).has_value());
    CHECK(did_you_mean(std::string("name")) == " (did you mean name?)");
    CHECK(did_you_mean(std::nullopt).empty());
}
