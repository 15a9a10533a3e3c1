// Codec::open failure modes and the plugin contract guards, against real shared objects: the
// built-in codecs and the fixtures in fixtures/.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "core/codec/CodecLibraryCache.hpp"
#include "tests/unit/codec/CodecTestSupport.hpp"

using namespace switchyard;
using namespace switchyard::testing;
using Catch::Contains;

namespace {

// Opens and expects exactly one error, returned.
ConfigError one_error(const std::string& plugin, const OptionList& options = {},
                      const std::string& plugin_dir = {}) {
    std::vector<ConfigError> errors;
    const auto codec = open_codec(plugin, options, &errors, plugin_dir);
    INFO(messages(errors));
    REQUIRE(codec == nullptr);
    REQUIRE(errors.size() == 1);
    return errors[0];
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char pattern[] = "/tmp/switchyard-codec-test-XXXXXX";
        path = mkdtemp(pattern);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("loader: a missing plugin names the files and directories searched", "[codec][loader]") {
    const ConfigError e = one_error("nosuchcodec", {}, "/nonexistent/plugins");
    CHECK(e.where.path == "listeners[0].codec.plugin");
    CHECK(e.where.line == 7);  // no mark for `plugin` itself: the codec block's line
    CHECK_THAT(e.message, Contains("codec plugin \"nosuchcodec\" not found"));
    CHECK_THAT(e.message, Contains("switchyard_codec_nosuchcodec.so, nosuchcodec.so"));
    CHECK_THAT(e.message, Contains("in /nonexistent/plugins"));

    const ConfigError d = one_error("nosuchcodec");
    CHECK_THAT(d.message, Contains(SWITCHYARD_PLUGIN_INSTALL_DIR));
}

TEST_CASE("loader: absolute paths load directly; missing and relative ones are refused",
          "[codec][loader]") {
    std::vector<ConfigError> errors;
    auto codec = open_codec(std::string(SWITCHYARD_PLUGIN_BUILD_DIR) + "/switchyard_codec_line.so",
                            {}, &errors);
    REQUIRE(codec != nullptr);
    CHECK(codec->name() == "line");

    CHECK_THAT(one_error("/nonexistent/x.so").message,
               Contains("codec plugin file /nonexistent/x.so does not exist"));
    CHECK_THAT(one_error("plugins/x.so").message, Contains("must be absolute"));
    CHECK_THAT(one_error("").message, Contains("needs a plugin name"));
}

TEST_CASE("loader: a shared object without the entry symbol is not a plugin", "[codec][loader]") {
    const ConfigError e = one_error(fixture_path("no_entry"));
    CHECK_THAT(e.message, Contains("is not a switchyard codec plugin"));
    CHECK_THAT(e.message, Contains("swy_codec_entry_v1"));
}

TEST_CASE("loader: an ABI major mismatch names both versions", "[codec][loader]") {
    const ConfigError e = one_error(fixture_path("abi_major_99"));
    CHECK_THAT(e.message, Contains("built for codec ABI 99.3"));
    CHECK_THAT(e.message, Contains("this switchyard supports 1.1"));

    const ConfigError v2 = one_error(fixture_path("entry_v2_only"));
    CHECK_THAT(v2.message, Contains("built for codec ABI major 2"));
    CHECK_THAT(v2.message, Contains("supports 1.1"));
}

TEST_CASE("loader: a truncated descriptor is refused", "[codec][loader]") {
    CHECK_THAT(one_error(fixture_path("bad_descriptor")).message,
               Contains("smaller than ABI 1.0's"));
}

TEST_CASE("loader: a file that is not a shared object is refused with dlerror",
          "[codec][loader]") {
    TempDir dir;
    std::ofstream(dir.path / "switchyard_codec_garbage.so") << "not an ELF file\n";
    const ConfigError e = one_error("garbage", {}, dir.path.string());
    CHECK_THAT(e.message, Contains("cannot load codec plugin"));
    CHECK_THAT(e.message, Contains("switchyard_codec_garbage.so"));
}

TEST_CASE("loader: unknown options get a did-you-mean at their own line", "[codec][loader]") {
    std::vector<ConfigError> errors;
    CHECK(open_codec("line", {{"max_fram", "1KiB"}, {"strip_cr", "true"}, {"colour", "red"}},
                     &errors) == nullptr);
    REQUIRE(errors.size() == 2);  // every unknown option, not just the first
    CHECK(errors[0].where.path == "listeners[0].codec.max_fram");
    CHECK(errors[0].where.line == 8);
    CHECK_THAT(errors[0].message, Contains("unknown option for codec line (did you mean max_frame?)"));
    CHECK(errors[1].where.path == "listeners[0].codec.colour");
    CHECK(errors[1].where.line == 10);
    CHECK_THAT(errors[1].message, Contains("known options: strip_cr, max_frame"));
    CHECK(errors[1].format() ==
          "10:7: listeners[0].codec.colour: unknown option for codec line (known options: "
          "strip_cr, max_frame)");
}

TEST_CASE("loader: options rejected by create carry the plugin's message", "[codec][loader]") {
    ConfigError e = one_error(fixture_path("rejects_options"), {{"mode", "fast"}});
    CHECK(e.where.path == "listeners[0].codec.mode");  // "mode: ..." points at the option
    CHECK(e.message == "rejected by codec picky: only \"ok\" is supported");

    e = one_error(fixture_path("rejects_options"), {{"mode", "ok"}, {"level", "2"}});
    CHECK(e.where.path == "listeners[0].codec");  // no key prefix: the block
    CHECK(e.message == "rejected by codec picky: level is not implemented yet");

    e = one_error(fixture_path("rejects_options"));
    CHECK_THAT(e.message, Contains("codec picky needs option mode (must be ok)"));

    std::vector<ConfigError> errors;
    CHECK(open_codec(fixture_path("rejects_options"), {{"mode", "ok"}}, &errors) != nullptr);
    CHECK(errors.empty());
}

TEST_CASE("loader: C++ exceptions inside a plugin come back as errors", "[codec][loader]") {
    const ConfigError e = one_error(fixture_path("throws_in_decode"), {{"throw_in_create", "true"}});
    CHECK_THAT(e.message, Contains("rejected by codec throwing: constructor refused"));

    auto codec = require_codec(fixture_path("throws_in_decode"), {});
    const std::uint8_t data[4] = {1, 2, 3, 4};
    std::uint64_t state = 0;
    char reason[128];
    const DecodedFrame f = codec->decode(data, sizeof data, &state, reason, sizeof reason);
    CHECK(f.status == DecodeStatus::malformed);
    CHECK(std::string(reason) == "codec threw in decode: boom in decode");
    // nullptr reason is allowed
    CHECK(codec->decode(data, sizeof data, &state, nullptr, 0).status == DecodeStatus::malformed);

    std::uint8_t header[8], trailer[8];
    std::size_t hl = 1, tl = 1;
    CHECK_FALSE(codec->encode(4, header, &hl, trailer, &tl, reason, sizeof reason));
    CHECK(std::string(reason) == "codec threw a non-standard exception in encode");
    CHECK(hl == 0);
    CHECK(tl == 0);
}

TEST_CASE("loader: frames and headers a plugin lies about are not trusted", "[codec][loader]") {
    auto codec = require_codec(fixture_path("lying_frames"), {});
    const std::uint8_t data[4] = {1, 2, 3, 4};
    std::uint64_t state = 7;
    char reason[128];
    const DecodedFrame f = codec->decode(data, sizeof data, &state, reason, sizeof reason);
    CHECK(f.status == DecodeStatus::malformed);
    CHECK_THAT(std::string(reason), Contains("codec plugin bug"));

    std::uint8_t header[8], trailer[8];
    std::size_t hl = 0, tl = 0;
    CHECK_FALSE(codec->encode(1, header, &hl, trailer, &tl, reason, sizeof reason));
    CHECK_THAT(std::string(reason), Contains("larger than declared"));
    CHECK(hl == 0);
}

TEST_CASE("loader: one library per file, shared by its codecs", "[codec][loader]") {
    auto a = require_codec("line", {});
    auto b = require_codec("line", {{"max_frame", "64KiB"}});
    auto c = require_codec("line", {{"strip_cr", "true"}});
    auto d = require_codec("delimiter", {{"delimiter", "\\n"}});
    auto by_path = require_codec(std::string(SWITCHYARD_PLUGIN_BUILD_DIR) +
                                     "/../plugins/switchyard_codec_line.so",
                                 {});
    CHECK(a->path() == b->path());
    CHECK(a->path() == by_path->path());  // canonical path: one dlopen
    CHECK(a->same_framing(*b));           // spelling out a default frames the same
    CHECK(a->same_framing(*by_path));
    CHECK_FALSE(a->same_framing(*c));
    CHECK_FALSE(a->same_framing(*d));
    CHECK_FALSE(d->same_framing(*a));
}

TEST_CASE("loader: the library stays loaded while a codec lives", "[codec][loader]") {
    // Open, drop every other reference, and decode through the survivor: the plugin's code must
    // still be mapped (a dlclose too early would crash here).
    std::shared_ptr<const Codec> survivor;
    {
        auto first = require_codec("fixed-length", {{"frame_length", "2"}});
        survivor = require_codec("fixed-length", {{"frame_length", "3"}});
    }
    const std::uint8_t data[3] = {'a', 'b', 'c'};
    std::uint64_t state = 0;
    CHECK(survivor->decode(data, 3, &state, nullptr, 0).payload_length == 3);
}
