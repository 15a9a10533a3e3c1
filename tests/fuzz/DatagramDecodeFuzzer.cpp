// libFuzzer target: the datagram decode path (DatagramFramer over the real line, delimiter and
// length-field plugins): one input is one datagram, decoded whole (decode, then decode_end for
// what is left), its frames checked against the datagram's bounds, then re-encoded for another
// codec and decoded back: the same payloads must come out.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/codec/Codec.hpp"
#include "core/proxy/datagram/DatagramFramer.hpp"

using namespace switchyard;

namespace {

struct Pair {
    std::shared_ptr<const Codec> decoder;
    std::shared_ptr<const Codec> encoder;  // null: passthrough
    // The encoder's framing cannot be confused by payload bytes (a length field): what it
    // writes decodes back into the same payloads. A line or delimiter encoder gives no such
    // promise (a payload holding a newline becomes two lines), on streams as on datagrams.
    bool round_trip;
};

std::shared_ptr<const Codec> open(const std::string& plugin, std::vector<std::pair<std::string, std::string>> options) {
    CodecOptions o;
    o.plugin = plugin;
    o.options = std::move(options);
    std::vector<ConfigError> errors;
    auto codec = Codec::open(o, "", &errors);
    if (!codec) {
        for (auto& e : errors) std::fprintf(stderr, "%s\n", e.message.c_str());
        std::abort();
    }
    return codec;
}

std::vector<Pair>& pairs() {
    static std::vector<Pair> p;
    return p;
}

void check(bool ok) {
    if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    auto line = open("line", {});
    auto line_cr = open("line", {{"strip_cr", "true"}, {"max_frame", "64"}});
    auto delim = open("delimiter", {{"delimiter", "|"}, {"max_frame", "32"}});
    auto len4 = open("length-field", {});
    auto len2 = open("length-field", {{"length_field_length", "2"}, {"max_frame", "1KiB"}});
    pairs() = {{line, nullptr, true},   {line, len4, true},     {len4, line, false},   {line_cr, len2, true},
               {delim, len2, true},   {len2, delim, false},   {len2, nullptr, true}, {delim, line_cr, false}};
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const Pair& pair = pairs()[data[0] % pairs().size()];
    const std::uint8_t* datagram = data + 1;
    const std::size_t len = size - 1;
    DatagramFramer framer(*pair.decoder, pair.encoder.get());
    int frames = framer.decode(datagram, len);
    if (frames < 0) {
        check(framer.reason()[0] != '\0');
        return 0;
    }
    check(static_cast<std::size_t>(frames) <= DatagramFramer::kMaxFrames);
    std::size_t previous_end = 0;
    for (int i = 0; i < frames; ++i) {
        const auto& f = framer.frame(static_cast<std::size_t>(i));
        check(f.offset >= previous_end && std::size_t{f.offset} + f.length <= len);
        previous_end = std::size_t{f.offset} + f.length;
    }
    iovec iov[DatagramFramer::kMaxIov];
    int pieces = framer.encode(datagram, len, iov);
    if (pieces < 0) return 0;  // the other codec may refuse a payload (too long for its field)
    std::string out;
    for (int i = 0; i < pieces; ++i) out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    if (!pair.encoder) {
        check(out.size() == len && std::memcmp(out.data(), datagram, len) == 0);
        return 0;
    }
    if (!pair.round_trip) return 0;
    // What the other side receives decodes, with its codec, into the same payloads.
    DatagramFramer back(*pair.encoder, nullptr);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(out.data());
    int again = back.decode(bytes, out.size());
    check(again == frames);
    for (int i = 0; i < frames; ++i) {
        const auto& a = framer.frame(static_cast<std::size_t>(i));
        const auto& b = back.frame(static_cast<std::size_t>(i));
        check(a.length == b.length && std::memcmp(datagram + a.offset, bytes + b.offset, a.length) == 0);
    }
    return 0;
}
