#pragma once
// The datagram side of a codec: decodes one whole datagram into frames (several statsd or
// syslog lines in one datagram; a last frame without its terminator is the codec's decode_end
// call, ABI 1.1), and lays the frames out for the other side's codec as scatter/gather pieces
// (header, payload in the datagram, trailer) so a datagram is re-encoded without copying a
// payload. A datagram that does not frame is reported, never passed on in part.
// One per loop and direction (it holds the header scratch space of the last datagram): loop
// thread only. No allocation after construction.
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/proxy/ProxyMetrics.hpp"

namespace switchyard {

class Codec;

class DatagramFramer {
public:
    // Frames one datagram may hold; more is a codec error (too_large).
    static constexpr std::size_t kMaxFrames = 128;
    // iovecs encode() may write: header, payload and trailer per frame.
    static constexpr std::size_t kMaxIov = 3 * kMaxFrames;

    // decoder frames the incoming datagrams; encoder writes the outgoing framing, or null to
    // send each datagram on as it came (both sides frame alike).
    DatagramFramer(const Codec& decoder, const Codec* encoder);
    ~DatagramFramer();
    DatagramFramer(const DatagramFramer&) = delete;
    DatagramFramer& operator=(const DatagramFramer&) = delete;

    struct Frame {
        std::uint32_t offset;  // payload, relative to the datagram
        std::uint32_t length;
    };

    // Decodes data[0, len). Returns the frame count (0 for an empty datagram), or -1 when it
    // does not frame: error() and reason() say why.
    int decode(const std::uint8_t* data, std::size_t len);
    const Frame& frame(std::size_t i) const { return frames_[i]; }

    // Lays out the frames of the last decode() of `data` for the other side into iov (room
    // for kMaxIov). Returns the iovec count, or -1 when the encoder refuses a frame (error()).
    // Without an encoder: one iovec, the datagram as it came.
    int encode(const std::uint8_t* data, std::size_t len, iovec* iov);

    // No encoder: datagrams that frame go on as they came.
    bool passthrough() const { return encoder_ == nullptr; }

    CodecErrorReason error() const { return error_; }
    const char* reason() const { return reason_; }

private:
    const Codec& decoder_;
    const Codec* encoder_;
    std::size_t header_stride_ = 0;
    std::unique_ptr<std::uint8_t[]> scratch_;  // kMaxFrames x (max_header + max_trailer)
    Frame frames_[kMaxFrames] = {};
    std::size_t count_ = 0;
    CodecErrorReason error_ = CodecErrorReason::malformed;
    char reason_[160] = {};
};

}  // namespace switchyard
