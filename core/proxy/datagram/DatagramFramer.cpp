#include "core/proxy/datagram/DatagramFramer.hpp"

#include <cstdio>

#include "core/codec/Codec.hpp"

namespace switchyard {

DatagramFramer::DatagramFramer(const Codec& decoder, const Codec* encoder) : decoder_(decoder), encoder_(encoder) {
    if (encoder_) {
        header_stride_ = encoder_->max_header() + encoder_->max_trailer();
        scratch_ = std::make_unique_for_overwrite<std::uint8_t[]>(kMaxFrames * header_stride_ + 1);
    }
}

DatagramFramer::~DatagramFramer() = default;

int DatagramFramer::decode(const std::uint8_t* data, std::size_t len) {
    count_ = 0;
    std::size_t at = 0;
    std::uint64_t state = 0;
    while (at < len) {
        DecodedFrame f = decoder_.decode(data + at, len - at, &state, reason_, sizeof reason_);
        // No more bytes will come after the datagram's end: what decode waits for is the end.
        if (f.status == DecodeStatus::need_more) f = decoder_.decode_end(data + at, len - at, &state, reason_, sizeof reason_);
        if (f.status != DecodeStatus::frame) {
            error_ = f.status == DecodeStatus::too_large ? CodecErrorReason::too_large : CodecErrorReason::malformed;
            return -1;
        }
        if (count_ == kMaxFrames) {
            error_ = CodecErrorReason::too_large;
            std::snprintf(reason_, sizeof reason_, "more than %zu frames in one datagram", kMaxFrames);
            return -1;
        }
        frames_[count_++] = Frame{static_cast<std::uint32_t>(at + f.payload_offset),
                                  static_cast<std::uint32_t>(f.payload_length)};
        at += f.consumed;
        state = 0;
    }
    return static_cast<int>(count_);
}

int DatagramFramer::encode(const std::uint8_t* data, std::size_t len, iovec* iov) {
    if (!encoder_) {
        iov[0] = iovec{const_cast<std::uint8_t*>(data), len};
        return 1;
    }
    int n = 0;
    for (std::size_t i = 0; i < count_; ++i) {
        std::uint8_t* h = scratch_.get() + i * header_stride_;
        std::uint8_t* t = h + encoder_->max_header();
        std::size_t hl = 0, tl = 0;
        if (!encoder_->encode(frames_[i].length, h, &hl, t, &tl, reason_, sizeof reason_)) {
            error_ = CodecErrorReason::encode_failed;
            return -1;
        }
        if (hl) iov[n++] = iovec{h, hl};
        if (frames_[i].length) iov[n++] = iovec{const_cast<std::uint8_t*>(data) + frames_[i].offset, frames_[i].length};
        if (tl) iov[n++] = iovec{t, tl};
    }
    return n;
}

}  // namespace switchyard
