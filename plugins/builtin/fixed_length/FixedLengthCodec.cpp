// `fixed-length` codec: every frame is exactly frame_length bytes, all payload. Encode writes no
// header or trailer and refuses a payload of any other length.
#include <iterator>

#include "plugins/builtin/FrameLimits.hpp"
#include "plugins/builtin/OptionReader.hpp"
#include "switchyard/codec.hpp"

namespace switchyard::builtin {
namespace {

constexpr swy_codec_option_spec kFixedLengthOptions[] = {
    {"frame_length", "bytes in every frame (e.g. 512 or 4KiB)", nullptr},
};

class FixedLengthCodec final : public swy::Codec {
   public:
    explicit FixedLengthCodec(const swy::OptionList& options) {
        OptionReader reader(options, kFixedLengthOptions, std::size(kFixedLengthOptions));
        if (!reader.has("frame_length"))
            throw swy::OptionError("frame_length", "required option is missing");
        frame_length_ = reader.size("frame_length", 0, 1, kLargestMaxFrame);
    }

    swy_decode_status decode(const std::uint8_t*, std::size_t len, std::uint64_t*, swy_frame* out,
                             const swy::ErrorSink&) const override {
        if (len < frame_length_) return SWY_DECODE_NEED_MORE;
        *out = swy_frame{frame_length_, 0, frame_length_};
        return SWY_DECODE_FRAME;
    }

    swy_encode_status encode(std::size_t payload_len, const swy::EncodeBuffers&,
                             const swy::ErrorSink& err) const override {
        if (payload_len != frame_length_) {
            err.printf("payload of %zu bytes is not frame_length (%zu)", payload_len,
                       frame_length_);
            return SWY_ENCODE_FAILED;
        }
        return SWY_ENCODE_OK;
    }

   private:
    std::size_t frame_length_ = 0;
};

constexpr swy::PluginInfo kFixedLengthInfo{
    "fixed-length", "1.0.0", "every frame has the same length",
    SWY_CODEC_CAP_DECODE | SWY_CODEC_CAP_ENCODE, kFixedLengthOptions,
    std::size(kFixedLengthOptions), 0, 0};

}  // namespace
}  // namespace switchyard::builtin

SWY_CODEC_PLUGIN(switchyard::builtin::FixedLengthCodec, switchyard::builtin::kFixedLengthInfo)
