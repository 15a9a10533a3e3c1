// `delimiter` codec: a frame is the bytes up to and including the first occurrence of `delimiter`
// (any byte sequence, written with escapes: "\r\n", "\0", "\x00\xff"); the payload excludes it.
// Encode appends the delimiter. max_frame bounds the bytes before the delimiter.
#include <string.h>  // memmem (GNU)

#include <cstring>
#include <iterator>
#include <string>

#include "plugins/builtin/FrameLimits.hpp"
#include "plugins/builtin/OptionReader.hpp"
#include "switchyard/codec.hpp"

namespace switchyard::builtin {
namespace {

// Longest delimiter accepted: bounds the trailer the host must reserve.
constexpr std::size_t kMaxDelimiter = 64;

constexpr swy_codec_option_spec kDelimiterOptions[] = {
    {"delimiter", "byte sequence ending each frame; escapes \\r \\n \\t \\0 \\\\ \\xHH", nullptr},
    {"max_frame", "largest payload accepted, in bytes before the delimiter (e.g. 64KiB)", "64KiB"},
};

class DelimiterCodec final : public swy::Codec {
   public:
    explicit DelimiterCodec(const swy::OptionList& options) {
        OptionReader reader(options, kDelimiterOptions, std::size(kDelimiterOptions));
        delimiter_ = reader.bytes("delimiter", /*required=*/true, {});
        if (delimiter_.empty()) throw swy::OptionError("delimiter", "must not be empty");
        if (delimiter_.size() > kMaxDelimiter)
            throw swy::OptionError("delimiter", "longer than " + std::to_string(kMaxDelimiter) +
                                                    " bytes");
        max_frame_ = reader.size("max_frame", kDefaultMaxFrame, 1, kLargestMaxFrame);
    }

    swy_decode_status decode(const std::uint8_t* data, std::size_t len, std::uint64_t* state,
                             swy_frame* out, const swy::ErrorSink& err) const override {
        const std::size_t dlen = delimiter_.size();
        // Bytes [0, *state) were searched; a delimiter may still straddle that point, so resume
        // dlen - 1 bytes earlier. Past max_frame + dlen bytes without one, the frame is too large.
        const std::size_t search_end = len < max_frame_ + dlen ? len : max_frame_ + dlen;
        std::size_t from = *state <= search_end ? *state : 0;
        from = from >= dlen - 1 ? from - (dlen - 1) : 0;
        const void* found =
            dlen == 1 ? std::memchr(data + from, delimiter_[0], search_end - from)
                      : memmem(data + from, search_end - from, delimiter_.data(), dlen);
        if (found != nullptr) {
            const std::size_t at = static_cast<const std::uint8_t*>(found) - data;
            *out = swy_frame{at + dlen, 0, at};
            return SWY_DECODE_FRAME;
        }
        if (search_end >= max_frame_ + dlen) {
            err.printf("no delimiter within max_frame (%zu bytes)", max_frame_);
            return SWY_DECODE_TOO_LARGE;
        }
        *state = search_end;
        return SWY_DECODE_NEED_MORE;
    }

    // A datagram's last frame needs no delimiter.
    swy_decode_status decode_end(const std::uint8_t*, std::size_t len, std::uint64_t*, swy_frame* out,
                                 const swy::ErrorSink& err) const override {
        if (len > max_frame_) {
            err.printf("frame longer than max_frame (%zu bytes)", max_frame_);
            return SWY_DECODE_TOO_LARGE;
        }
        *out = swy_frame{len, 0, len};
        return SWY_DECODE_FRAME;
    }

    swy_encode_status encode(std::size_t payload_len, const swy::EncodeBuffers& out,
                             const swy::ErrorSink& err) const override {
        if (payload_len > max_frame_) {
            err.printf("payload of %zu bytes exceeds max_frame (%zu)", payload_len, max_frame_);
            return SWY_ENCODE_FAILED;
        }
        std::memcpy(out.trailer, delimiter_.data(), delimiter_.size());
        *out.trailer_len = delimiter_.size();
        return SWY_ENCODE_OK;
    }

    void instance_info(swy_codec_instance_info* info) const override {
        info->max_trailer = static_cast<std::uint32_t>(delimiter_.size());
    }

   private:
    std::string delimiter_;
    std::size_t max_frame_ = kDefaultMaxFrame;
};

constexpr swy::PluginInfo kDelimiterInfo{
    "delimiter", "1.0.0", "frames end at a configured byte sequence",
    SWY_CODEC_CAP_DECODE | SWY_CODEC_CAP_ENCODE, kDelimiterOptions, std::size(kDelimiterOptions),
    0, kMaxDelimiter};

}  // namespace
}  // namespace switchyard::builtin

SWY_CODEC_PLUGIN(switchyard::builtin::DelimiterCodec, switchyard::builtin::kDelimiterInfo)
