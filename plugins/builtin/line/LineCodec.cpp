// `line` codec: a frame is the bytes up to and including '\n'; the payload excludes the '\n' (and a
// '\r' before it when strip_cr is true). Encode appends "\n", or "\r\n" when strip_cr is true (a
// CRLF peer is assumed to want CRLF back). max_frame bounds the bytes before the '\n'.
#include <cstring>
#include <iterator>

#include "plugins/builtin/FrameLimits.hpp"
#include "plugins/builtin/OptionReader.hpp"
#include "switchyard/codec.hpp"

namespace switchyard::builtin {
namespace {

constexpr swy_codec_option_spec kLineOptions[] = {
    {"strip_cr", "true: a '\\r' before the '\\n' is not part of the payload; encode writes \\r\\n",
     "false"},
    {"max_frame", "longest line accepted, in bytes before the '\\n' (e.g. 64KiB)", "64KiB"},
};

class LineCodec final : public swy::Codec {
   public:
    explicit LineCodec(const swy::OptionList& options) {
        OptionReader reader(options, kLineOptions, std::size(kLineOptions));
        strip_cr_ = reader.boolean("strip_cr", false);
        max_frame_ = reader.size("max_frame", kDefaultMaxFrame, 1, kLargestMaxFrame);
    }

    swy_decode_status decode(const std::uint8_t* data, std::size_t len, std::uint64_t* state,
                             swy_frame* out, const swy::ErrorSink& err) const override {
        // Bytes [0, *state) were searched by earlier calls and hold no '\n'. Past max_frame + 1
        // bytes without one, the line is too long whatever comes next.
        const std::size_t search_end = len < max_frame_ + 1 ? len : max_frame_ + 1;
        const std::size_t from = *state <= search_end ? *state : 0;
        const void* newline = std::memchr(data + from, '\n', search_end - from);
        if (newline != nullptr) {
            const std::size_t at = static_cast<const std::uint8_t*>(newline) - data;
            std::size_t payload = at;
            if (strip_cr_ && at > 0 && data[at - 1] == '\r') --payload;
            *out = swy_frame{at + 1, 0, payload};
            return SWY_DECODE_FRAME;
        }
        if (search_end > max_frame_) {
            err.printf("line longer than max_frame (%zu bytes) without a newline", max_frame_);
            return SWY_DECODE_TOO_LARGE;
        }
        *state = search_end;
        return SWY_DECODE_NEED_MORE;
    }

    // A datagram's last line needs no newline (statsd, syslog over UDP).
    swy_decode_status decode_end(const std::uint8_t* data, std::size_t len, std::uint64_t*, swy_frame* out,
                                 const swy::ErrorSink& err) const override {
        std::size_t payload = len;
        if (strip_cr_ && data[len - 1] == '\r') --payload;
        if (payload > max_frame_) {
            err.printf("line longer than max_frame (%zu bytes)", max_frame_);
            return SWY_DECODE_TOO_LARGE;
        }
        *out = swy_frame{len, 0, payload};
        return SWY_DECODE_FRAME;
    }

    swy_encode_status encode(std::size_t payload_len, const swy::EncodeBuffers& out,
                             const swy::ErrorSink& err) const override {
        const std::size_t before_newline = payload_len + (strip_cr_ ? 1 : 0);
        if (before_newline > max_frame_) {
            err.printf("payload of %zu bytes exceeds max_frame (%zu)", payload_len, max_frame_);
            return SWY_ENCODE_FAILED;
        }
        std::size_t n = 0;
        if (strip_cr_) out.trailer[n++] = '\r';
        out.trailer[n++] = '\n';
        *out.trailer_len = n;
        return SWY_ENCODE_OK;
    }

    void instance_info(swy_codec_instance_info* info) const override {
        info->max_trailer = strip_cr_ ? 2 : 1;
    }

   private:
    bool strip_cr_ = false;
    std::size_t max_frame_ = kDefaultMaxFrame;
};

constexpr swy::PluginInfo kLineInfo{
    "line", "1.0.0", "frames end at a newline", SWY_CODEC_CAP_DECODE | SWY_CODEC_CAP_ENCODE,
    kLineOptions, std::size(kLineOptions), 0, 2};

}  // namespace
}  // namespace switchyard::builtin

SWY_CODEC_PLUGIN(switchyard::builtin::LineCodec, switchyard::builtin::kLineInfo)
