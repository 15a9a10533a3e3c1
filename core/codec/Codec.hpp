#pragma once
// A configured codec: one plugin instance created from a `codec:` block, shared (read-only) by
// every loop thread. decode/encode are a plain function-pointer call into the plugin: no
// allocation, no std::function, no string building unless a frame is rejected.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/codec/CodecLibrary.hpp"
#include "core/codec/DecodedFrame.hpp"
#include "core/codec/PluginTrust.hpp"
#include "core/options/ConfigError.hpp"
#include "core/options/Options.hpp"
#include "switchyard/codec.h"

namespace switchyard {

class Codec {
    struct Passkey {};

   public:
    // Loads plugin `opts.plugin` (a name looked up as <dir>/switchyard_codec_<name>.so or
    // <dir>/<name>.so in plugin_dir, or in PluginPaths::default_dirs() when plugin_dir is empty;
    // or an absolute path to a .so) and creates an instance from opts.options. On failure returns
    // nullptr and appends ConfigErrors located at opts.mark / opts.option_marks[key]: plugin not
    // found (with the directories searched), not a plugin, ABI major mismatch (both versions),
    // unknown option (did you mean), missing required option, options rejected by the plugin.
    // Every problem found is reported, not just the first. With `trust`, a plugin file or
    // directory others may write is refused (or, with trust->allow_writable, loaded with a
    // warning): see PluginTrust. Control thread only.
    static std::shared_ptr<const Codec> open(const CodecOptions& opts,
                                             const std::string& plugin_dir,
                                             std::vector<ConfigError>* errors,
                                             const PluginTrust* trust = nullptr);

    Codec(Passkey, std::shared_ptr<const CodecLibrary> library, swy_codec_instance* instance,
          std::map<std::string, std::string> effective_options);
    ~Codec();  // destroys the plugin instance; the library unloads with its last Codec
    Codec(const Codec&) = delete;
    Codec& operator=(const Codec&) = delete;

    // Looks for one frame at the start of data[0, len). *stream_state is the caller's per-stream-
    // direction scratch word: 0 at stream start; keep it between need_more calls (with the same
    // unconsumed bytes at the front of data, possibly moved); decode resets it to 0 on a frame.
    // On malformed/too_large the plugin's message lands in reason (may be nullptr).
    // Any thread, concurrently. No allocation.
    DecodedFrame decode(const std::uint8_t* data, std::size_t len, std::uint64_t* stream_state,
                        char* reason, std::size_t reason_cap) const {
        if (reason != nullptr && reason_cap > 0) reason[0] = '\0';
        else reason_cap = 0;
        swy_frame f{0, 0, 0};
        const swy_decode_status s =
            decode_(instance_, data, len, stream_state, &f, reason, reason_cap);
        if (s == SWY_DECODE_FRAME) {
            if (f.consumed == 0 || f.consumed > len || f.payload_offset > f.consumed ||
                f.payload_length > f.consumed - f.payload_offset)
                return broken_frame(reason, reason_cap);
            *stream_state = 0;
            return DecodedFrame{DecodeStatus::frame, f.consumed, f.payload_offset,
                                f.payload_length};
        }
        if (s == SWY_DECODE_NEED_MORE) return DecodedFrame{DecodeStatus::need_more, 0, 0, 0};
        return rejected(s, reason, reason_cap);
    }

    // The end of a datagram: `len` (>= 1) bytes left for which decode() said need_more, and no
    // more will come. A frame (a last line without its newline) when the plugin's ABI 1.1
    // decode_end says so; malformed when it does not, or has no decode_end. Any thread, concurrently.
    DecodedFrame decode_end(const std::uint8_t* data, std::size_t len, std::uint64_t* stream_state,
                            char* reason, std::size_t reason_cap) const {
        if (reason != nullptr && reason_cap > 0) reason[0] = '\0';
        else reason_cap = 0;
        if (decode_end_ == nullptr) return datagram_cut_short(reason, reason_cap);
        swy_frame f{0, 0, 0};
        const swy_decode_status s = decode_end_(instance_, data, len, stream_state, &f, reason, reason_cap);
        if (s == SWY_DECODE_FRAME) {
            if (f.consumed != len || f.payload_offset > f.consumed ||
                f.payload_length > f.consumed - f.payload_offset)
                return broken_frame(reason, reason_cap);
            return DecodedFrame{DecodeStatus::frame, f.consumed, f.payload_offset, f.payload_length};
        }
        if (s == SWY_DECODE_NEED_MORE) return datagram_cut_short(reason, reason_cap);
        return rejected(s, reason, reason_cap);
    }

    // Writes the header and trailer for a payload of payload_len bytes into caller buffers of at
    // least max_header() / max_trailer() bytes. Returns false with reason when this payload cannot
    // be encoded (too large for the length field, codec cannot encode, ...).
    // Any thread, concurrently. No allocation.
    bool encode(std::size_t payload_len, std::uint8_t* header, std::size_t* header_len,
                std::uint8_t* trailer, std::size_t* trailer_len, char* reason,
                std::size_t reason_cap) const {
        *header_len = 0;
        *trailer_len = 0;
        if (reason != nullptr && reason_cap > 0) reason[0] = '\0';
        else reason_cap = 0;
        if (!can_encode_) return cannot_encode(reason, reason_cap);
        if (encode_(instance_, payload_len, header, max_header_, header_len, trailer,
                    max_trailer_, trailer_len, reason, reason_cap) != SWY_ENCODE_OK)
            return encode_failed(reason, reason_cap);
        if (*header_len > max_header_ || *trailer_len > max_trailer_)
            return broken_encode(header_len, trailer_len, reason, reason_cap);
        return true;
    }

    std::size_t max_header() const { return max_header_; }    // any thread
    std::size_t max_trailer() const { return max_trailer_; }  // any thread
    bool can_encode() const { return can_encode_; }           // any thread

    // Plugin name, for logs and metric labels. Any thread.
    const std::string& name() const { return library_->name(); }
    // The plugin file this codec came from. Any thread.
    const std::string& path() const { return library_->path(); }

    // Same library and same effective options (declared defaults filled in): frames decoded by
    // one are encoded identically by the other, so bytes may pass through unchanged. Any thread.
    bool same_framing(const Codec& other) const;

   private:
    static DecodedFrame broken_frame(char* reason, std::size_t reason_cap);
    static DecodedFrame datagram_cut_short(char* reason, std::size_t reason_cap);
    static DecodedFrame rejected(swy_decode_status status, char* reason, std::size_t reason_cap);
    static bool cannot_encode(char* reason, std::size_t reason_cap);
    static bool encode_failed(char* reason, std::size_t reason_cap);
    static bool broken_encode(std::size_t* header_len, std::size_t* trailer_len, char* reason,
                              std::size_t reason_cap);

    // Hot fields first.
    swy_codec_decode_fn decode_;
    swy_codec_encode_fn encode_;
    swy_codec_decode_fn decode_end_;  // null: plugin built for ABI 1.0, or frames no datagram end
    const swy_codec_instance* instance_;
    std::size_t max_header_;
    std::size_t max_trailer_;
    bool can_encode_;
    std::shared_ptr<const CodecLibrary> library_;
    std::map<std::string, std::string> effective_options_;
};

}  // namespace switchyard
