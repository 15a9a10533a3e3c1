#pragma once
// The result of looking for one frame at the start of a stream buffer (see Codec::decode).
#include <cstddef>

namespace switchyard {

enum class DecodeStatus {
    frame,      // a frame: drop `consumed` bytes; the payload is [payload_offset, +payload_length)
    need_more,  // no complete frame yet: read more and call again with the same bytes in front
    malformed,  // the stream cannot be framed: close the connection
    too_large,  // the frame exceeds the codec's limit: close the connection
};

struct DecodedFrame {
    DecodeStatus status;
    std::size_t consumed;        // bytes of the frame (frame only)
    std::size_t payload_offset;  // relative to the data passed to decode (frame only)
    std::size_t payload_length;  // (frame only)
};

}  // namespace switchyard
