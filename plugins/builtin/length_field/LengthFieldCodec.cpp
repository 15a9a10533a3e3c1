// `length-field` codec: Netty's LengthFieldBasedFrameDecoder (and gnet's LengthFieldBasedFrameCodec)
// parameter set, with the cases those leave to exceptions or silently mis-handle made explicit
// decode results:
//
//   frame = [length_field_offset bytes][length field][...rest...]
//   frame length = field value + length_adjustment + length_field_offset + length_field_length
//                  (- length_field_offset - length_field_length again when length_includes_header)
//   payload      = frame without its first initial_bytes_to_strip bytes
//
//   adjusted frame length shorter than the header  -> MALFORMED
//   initial_bytes_to_strip longer than the frame   -> MALFORMED (detected before waiting for it)
//   frame length over max_frame                     -> TOO_LARGE (detected from the header alone)
//
// Differences from Netty: initial_bytes_to_strip defaults to the header length (payload = what
// follows the length field) because a proxy re-encodes payloads; max_frame defaults to 64KiB;
// length_includes_header is shorthand for length_adjustment -= offset + length and applies to
// decode and encode alike; field values are unsigned for every width (8 bytes included).
//
// Encode writes a header of initial_bytes_to_strip bytes: zeros, the length field at its offset,
// zeros after it; so decode(encode(p)) == p. It needs initial_bytes_to_strip >= offset + length
// (a payload that starts inside the header cannot be rebuilt from its length alone); other
// layouts decode only, which instance_info reports.
#include <iterator>
#include <string>

#include "plugins/builtin/FrameLimits.hpp"
#include "plugins/builtin/OptionReader.hpp"
#include "switchyard/codec.hpp"

namespace switchyard::builtin {
namespace {

constexpr std::int64_t kLargestOffset = 1 << 20;
constexpr std::int64_t kLargestAdjustment = std::int64_t{1} << 40;
// Largest header encode writes; longer strip lengths make the instance decode-only.
constexpr std::uint32_t kMaxEncodeHeader = 1024;
// Field values above this are too large for any max_frame, whatever the adjustment; checking
// first keeps the signed arithmetic below far from overflow.
constexpr std::uint64_t kLargestFieldValue = std::uint64_t{1} << 62;

constexpr swy_codec_option_spec kLengthFieldOptions[] = {
    {"length_field_offset", "bytes before the length field", "0"},
    {"length_field_length", "width of the length field: 1, 2, 3, 4 or 8 bytes", "4"},
    {"length_adjustment", "added to the field value to get the bytes after the field (signed)",
     "0"},
    {"initial_bytes_to_strip", "bytes at the frame start that are not payload",
     "length_field_offset + length_field_length"},
    {"byte_order", "byte order of the length field: big or little", "big"},
    {"length_includes_header", "true: the field value counts the offset and field bytes too",
     "false"},
    {"max_frame", "largest whole frame (header included) accepted, e.g. 64KiB", "64KiB"},
};

class LengthFieldCodec final : public swy::Codec {
   public:
    explicit LengthFieldCodec(const swy::OptionList& options) {
        OptionReader reader(options, kLengthFieldOptions, std::size(kLengthFieldOptions));
        offset_ = static_cast<std::size_t>(
            reader.integer("length_field_offset", 0, 0, kLargestOffset));
        field_length_ = static_cast<std::size_t>(reader.integer("length_field_length", 4, 1, 8));
        if (field_length_ > 4 && field_length_ != 8)
            throw swy::OptionError("length_field_length", "must be 1, 2, 3, 4 or 8");
        end_offset_ = offset_ + field_length_;
        adjustment_ = reader.integer("length_adjustment", 0, -kLargestAdjustment,
                                     kLargestAdjustment);
        if (reader.boolean("length_includes_header", false))
            adjustment_ -= static_cast<std::int64_t>(end_offset_);
        strip_ = static_cast<std::size_t>(reader.integer(
            "initial_bytes_to_strip", static_cast<std::int64_t>(end_offset_), 0,
            static_cast<std::int64_t>(kLargestMaxFrame)));
        little_endian_ = reader.choice("byte_order", "big", {"big", "little"}) == "little";
        max_frame_ = reader.size("max_frame", kDefaultMaxFrame, 1, kLargestMaxFrame);
        if (max_frame_ < end_offset_)
            throw swy::OptionError("max_frame", "is smaller than the header (length_field_offset "
                                                "+ length_field_length = " +
                                                    std::to_string(end_offset_) + " bytes)");
        if (strip_ > max_frame_)
            throw swy::OptionError("initial_bytes_to_strip",
                                   "is larger than max_frame; every frame would be malformed");
    }

    swy_decode_status decode(const std::uint8_t* data, std::size_t len, std::uint64_t*,
                             swy_frame* out, const swy::ErrorSink& err) const override {
        if (len < end_offset_) return SWY_DECODE_NEED_MORE;
        const std::uint64_t value = read_field(data + offset_);
        if (value > kLargestFieldValue) {
            err.printf("length field value %llu exceeds max_frame (%zu)",
                       static_cast<unsigned long long>(value), max_frame_);
            return SWY_DECODE_TOO_LARGE;
        }
        const std::int64_t frame = static_cast<std::int64_t>(value) + adjustment_ +
                                   static_cast<std::int64_t>(end_offset_);
        if (frame < static_cast<std::int64_t>(end_offset_)) {
            err.printf("adjusted frame length %lld is less than the header (%zu bytes)",
                       static_cast<long long>(frame), end_offset_);
            return SWY_DECODE_MALFORMED;
        }
        const auto frame_length = static_cast<std::size_t>(frame);
        if (frame_length > max_frame_) {
            err.printf("frame length %zu exceeds max_frame (%zu)", frame_length, max_frame_);
            return SWY_DECODE_TOO_LARGE;
        }
        if (strip_ > frame_length) {
            err.printf("initial_bytes_to_strip (%zu) is larger than the frame (%zu bytes)", strip_,
                       frame_length);
            return SWY_DECODE_MALFORMED;
        }
        if (len < frame_length) return SWY_DECODE_NEED_MORE;
        *out = swy_frame{frame_length, strip_, frame_length - strip_};
        return SWY_DECODE_FRAME;
    }

    swy_encode_status encode(std::size_t payload_len, const swy::EncodeBuffers& out,
                             const swy::ErrorSink& err) const override {
        if (!can_encode()) {
            err.printf("cannot encode: initial_bytes_to_strip (%zu) must be at least "
                       "length_field_offset + length_field_length (%zu) and at most %u",
                       strip_, end_offset_, kMaxEncodeHeader);
            return SWY_ENCODE_FAILED;
        }
        if (payload_len > max_frame_ - strip_) {
            err.printf("payload of %zu bytes makes a frame over max_frame (%zu)", payload_len,
                       max_frame_);
            return SWY_ENCODE_FAILED;
        }
        const std::int64_t value = static_cast<std::int64_t>(strip_ + payload_len) -
                                   static_cast<std::int64_t>(end_offset_) - adjustment_;
        if (value < 0) {
            err.printf("payload of %zu bytes is too short for length_adjustment", payload_len);
            return SWY_ENCODE_FAILED;
        }
        if (field_length_ < 8 &&
            static_cast<std::uint64_t>(value) >> (8 * field_length_) != 0) {
            err.printf("length %lld does not fit a %zu-byte length field",
                       static_cast<long long>(value), field_length_);
            return SWY_ENCODE_FAILED;
        }
        for (std::size_t i = 0; i < strip_; ++i) out.header[i] = 0;
        write_field(out.header + offset_, static_cast<std::uint64_t>(value));
        *out.header_len = strip_;
        return SWY_ENCODE_OK;
    }

    void instance_info(swy_codec_instance_info* info) const override {
        if (can_encode()) {
            info->max_header = static_cast<std::uint32_t>(strip_);
        } else {
            info->capabilities &= ~SWY_CODEC_CAP_ENCODE;
            info->max_header = 0;
        }
        info->max_trailer = 0;
    }

   private:
    bool can_encode() const { return strip_ >= end_offset_ && strip_ <= kMaxEncodeHeader; }

    std::uint64_t read_field(const std::uint8_t* p) const {
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < field_length_; ++i) {
            const std::size_t byte = little_endian_ ? field_length_ - 1 - i : i;
            value = (value << 8) | p[byte];
        }
        return value;
    }

    void write_field(std::uint8_t* p, std::uint64_t value) const {
        for (std::size_t i = 0; i < field_length_; ++i) {
            const std::size_t byte = little_endian_ ? i : field_length_ - 1 - i;
            p[byte] = static_cast<std::uint8_t>(value & 0xff);
            value >>= 8;
        }
    }

    std::size_t offset_ = 0;
    std::size_t field_length_ = 4;
    std::size_t end_offset_ = 4;
    std::int64_t adjustment_ = 0;
    std::size_t strip_ = 4;
    bool little_endian_ = false;
    std::size_t max_frame_ = kDefaultMaxFrame;
};

constexpr swy::PluginInfo kLengthFieldInfo{
    "length-field", "1.0.0", "frames carry their length in a header field",
    SWY_CODEC_CAP_DECODE | SWY_CODEC_CAP_ENCODE, kLengthFieldOptions,
    std::size(kLengthFieldOptions), kMaxEncodeHeader, 0};

}  // namespace
}  // namespace switchyard::builtin

SWY_CODEC_PLUGIN(switchyard::builtin::LengthFieldCodec, switchyard::builtin::kLengthFieldInfo)
