// switchyard/codec.hpp: header-only C++ SDK over the C codec ABI (switchyard/codec.h). C++17.
//
// Derive from swy::Codec, give the class a constructor taking `const swy::OptionList&` that
// throws (swy::OptionError, or any std::exception) to reject options, implement decode() and
// optionally encode()/instance_info(), then export it with SWY_CODEC_PLUGIN:
//
//   class MyCodec final : public swy::Codec {
//    public:
//     explicit MyCodec(const swy::OptionList& options);
//     swy_decode_status decode(const std::uint8_t* data, std::size_t len, std::uint64_t* state,
//                              swy_frame* out, const swy::ErrorSink& err) const override;
//   };
//   constexpr swy_codec_option_spec kOptions[] = {{"max_frame", "largest frame", "64KiB"}};
//   constexpr swy::PluginInfo kInfo{"mine", "1.0.0", "my framing", SWY_CODEC_CAP_DECODE,
//                                   kOptions, 1, 0, 0};
//   SWY_CODEC_PLUGIN(MyCodec, kInfo)
//
// Every C entry point the macro generates is noexcept and catches everything: an exception from
// the constructor becomes create()'s error message, one from decode() becomes
// SWY_DECODE_MALFORMED, one from encode() becomes SWY_ENCODE_FAILED. No exception crosses the ABI.
#ifndef SWITCHYARD_CODEC_HPP
#define SWITCHYARD_CODEC_HPP

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>

#include "switchyard/codec.h"

namespace swy {

// A host-owned error buffer (may be empty). Writing never allocates and never throws.
class ErrorSink {
   public:
    ErrorSink(char* buffer, std::size_t capacity) noexcept
        : buffer_(capacity > 0 ? buffer : nullptr), capacity_(buffer_ ? capacity : 0) {}

    void set(std::string_view message) const noexcept {
        if (capacity_ == 0) return;
        std::size_t n = message.size() < capacity_ - 1 ? message.size() : capacity_ - 1;
        for (std::size_t i = 0; i < n; ++i) buffer_[i] = message[i];
        buffer_[n] = '\0';
    }

#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    void printf(const char* format, ...) const noexcept {
        if (capacity_ == 0) return;
        va_list args;
        va_start(args, format);
        std::vsnprintf(buffer_, capacity_, format, args);
        va_end(args);
    }

   private:
    char* buffer_;
    std::size_t capacity_;
};

// Thrown from a codec's constructor to reject one option. what() is "<key>: <message>", the form
// the host uses to point at the option's line in the YAML.
class OptionError : public std::exception {
   public:
    OptionError(std::string_view key, std::string_view message)
        : key_(key), what_(std::string(key) + ": " + std::string(message)) {}
    const char* what() const noexcept override { return what_.c_str(); }
    const std::string& key() const noexcept { return key_; }

   private:
    std::string key_;
    std::string what_;
};

// A read-only view of the options given to create(); valid only inside the constructor.
class OptionList {
   public:
    OptionList(const swy_codec_option* options, std::size_t count) noexcept
        : options_(options), count_(options ? count : 0) {}
    std::size_t size() const noexcept { return count_; }
    std::string_view key(std::size_t i) const noexcept { return options_[i].key; }
    std::string_view value(std::size_t i) const noexcept { return options_[i].value; }
    const swy_codec_option* begin() const noexcept { return options_; }
    const swy_codec_option* end() const noexcept { return options_ + count_; }
    // The value of the last option named `key`, or nullptr.
    const char* find(std::string_view key) const noexcept {
        const char* found = nullptr;
        for (std::size_t i = 0; i < count_; ++i)
            if (key == options_[i].key) found = options_[i].value;
        return found;
    }

   private:
    const swy_codec_option* options_;
    std::size_t count_;
};

// Where encode() writes: host-owned buffers and the lengths to report.
struct EncodeBuffers {
    std::uint8_t* header;
    std::size_t header_cap;
    std::size_t* header_len;  // 0 on entry
    std::uint8_t* trailer;
    std::size_t trailer_cap;
    std::size_t* trailer_len;  // 0 on entry
};

// Base class of a C++ codec. Instances are shared by every event-loop thread: all methods are
// const and must not mutate the object (see "Threading" in codec.h).
class Codec {
   public:
    virtual ~Codec() = default;

    // See swy_codec_decode_fn. Any thread, concurrently.
    virtual swy_decode_status decode(const std::uint8_t* data, std::size_t len,
                                     std::uint64_t* stream_state, swy_frame* out,
                                     const ErrorSink& err) const = 0;

    // See swy_codec_encode_fn. Any thread, concurrently.
    virtual swy_encode_status encode(std::size_t payload_len, const EncodeBuffers& out,
                                     const ErrorSink& err) const {
        (void)payload_len;
        (void)out;
        err.set("this codec does not encode");
        return SWY_ENCODE_FAILED;
    }

    // See swy_codec_instance_info_fn; `info` arrives filled with the descriptor's values.
    virtual void instance_info(swy_codec_instance_info* info) const { (void)info; }

    // ABI 1.1, see swy_codec_descriptor::decode_end: the bytes left at the end of a datagram.
    // The default says a datagram must hold whole frames. Any thread, concurrently.
    virtual swy_decode_status decode_end(const std::uint8_t* data, std::size_t len,
                                         std::uint64_t* stream_state, swy_frame* out,
                                         const ErrorSink& err) const {
        (void)data;
        (void)stream_state;
        (void)out;
        err.printf("datagram ends inside a frame (%zu bytes left)", len);
        return SWY_DECODE_MALFORMED;
    }
};

// The static facts of a plugin, turned into its descriptor by SWY_CODEC_PLUGIN.
struct PluginInfo {
    const char* name;
    const char* version;
    const char* description;
    std::uint32_t capabilities;
    const swy_codec_option_spec* options;
    std::size_t option_count;
    std::uint32_t max_header;
    std::uint32_t max_trailer;
};

namespace detail {

inline const Codec* as_codec(const swy_codec_instance* instance) noexcept {
    return reinterpret_cast<const Codec*>(instance);
}

template <class T>
struct Adapter {
    static_assert(std::is_base_of_v<Codec, T>, "a codec class must derive from swy::Codec");
    static_assert(std::is_constructible_v<T, const OptionList&>,
                  "a codec class needs a constructor taking const swy::OptionList&");

    static swy_codec_instance* create(const swy_codec_option* options, std::size_t count,
                                      char* err, std::size_t err_cap) noexcept {
        ErrorSink sink(err, err_cap);
        try {
            Codec* codec = new T(OptionList(options, count));
            return reinterpret_cast<swy_codec_instance*>(codec);
        } catch (const std::exception& e) {
            sink.set(e.what());
        } catch (...) {
            sink.set("codec constructor threw a non-standard exception");
        }
        return nullptr;
    }

    static void destroy(swy_codec_instance* instance) noexcept {
        try {
            delete reinterpret_cast<Codec*>(instance);
        } catch (...) {
        }
    }

    static swy_decode_status decode(const swy_codec_instance* instance, const std::uint8_t* data,
                                    std::size_t len, std::uint64_t* stream_state, swy_frame* out,
                                    char* err, std::size_t err_cap) noexcept {
        ErrorSink sink(err, err_cap);
        try {
            return as_codec(instance)->decode(data, len, stream_state, out, sink);
        } catch (const std::exception& e) {
            sink.printf("codec threw in decode: %s", e.what());
        } catch (...) {
            sink.set("codec threw a non-standard exception in decode");
        }
        return SWY_DECODE_MALFORMED;
    }

    static swy_decode_status decode_end(const swy_codec_instance* instance, const std::uint8_t* data,
                                        std::size_t len, std::uint64_t* stream_state, swy_frame* out,
                                        char* err, std::size_t err_cap) noexcept {
        ErrorSink sink(err, err_cap);
        try {
            return as_codec(instance)->decode_end(data, len, stream_state, out, sink);
        } catch (const std::exception& e) {
            sink.printf("codec threw in decode_end: %s", e.what());
        } catch (...) {
            sink.set("codec threw a non-standard exception in decode_end");
        }
        return SWY_DECODE_MALFORMED;
    }

    static swy_encode_status encode(const swy_codec_instance* instance, std::size_t payload_len,
                                    std::uint8_t* header, std::size_t header_cap,
                                    std::size_t* header_len, std::uint8_t* trailer,
                                    std::size_t trailer_cap, std::size_t* trailer_len, char* err,
                                    std::size_t err_cap) noexcept {
        ErrorSink sink(err, err_cap);
        *header_len = 0;
        *trailer_len = 0;
        try {
            return as_codec(instance)->encode(
                payload_len,
                EncodeBuffers{header, header_cap, header_len, trailer, trailer_cap, trailer_len},
                sink);
        } catch (const std::exception& e) {
            sink.printf("codec threw in encode: %s", e.what());
        } catch (...) {
            sink.set("codec threw a non-standard exception in encode");
        }
        return SWY_ENCODE_FAILED;
    }

    static void instance_info(const swy_codec_instance* instance,
                              swy_codec_instance_info* info) noexcept {
        try {
            as_codec(instance)->instance_info(info);
        } catch (...) {
        }
    }

    static constexpr swy_codec_descriptor descriptor(const PluginInfo& info) noexcept {
        return swy_codec_descriptor{
            static_cast<std::uint32_t>(sizeof(swy_codec_descriptor)),
            SWY_CODEC_ABI_MAJOR,
            SWY_CODEC_ABI_MINOR,
            info.capabilities,
            info.name,
            info.version,
            info.description,
            info.options,
            info.option_count,
            info.max_header,
            info.max_trailer,
            &create,
            &destroy,
            &decode,
            (info.capabilities & SWY_CODEC_CAP_ENCODE) ? &encode : nullptr,
            &instance_info,
            &decode_end,
        };
    }
};

}  // namespace detail
}  // namespace swy

// Defines the exported entry symbol for codec class CODEC_CLASS described by PLUGIN_INFO (a
// swy::PluginInfo constant). Use once per shared object, at namespace scope.
#define SWY_CODEC_PLUGIN(CODEC_CLASS, PLUGIN_INFO)                                               \
    extern "C" SWY_CODEC_EXPORT const swy_codec_descriptor* swy_codec_entry_v1(void) {          \
        static const swy_codec_descriptor descriptor =                                           \
            ::swy::detail::Adapter<CODEC_CLASS>::descriptor(PLUGIN_INFO);                        \
        return &descriptor;                                                                      \
    }

#endif  // SWITCHYARD_CODEC_HPP
