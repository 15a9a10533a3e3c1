#pragma once
// A batch of datagram slots for recvmmsg/sendmmsg: one arena of `slots` x `slot_size` bytes
// allocated once (pages are touched only as datagrams fill them), with each slot's mmsghdr,
// iovec, peer address and control (IP_PKTINFO) buffer beside it. Receiving fills entries;
// turning an entry into a reply (arm_send) reuses the same headers, so a batch of upstream
// replies, or of echoes, goes out with one sendmmsg. No allocation after construction.
// Loop thread only (one batch belongs to one loop).
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/proxy/datagram/DatagramPeer.hpp"

namespace switchyard {

class DatagramBatch {
public:
    // slot_size: the largest datagram payload a slot takes, in bytes; a longer one is reported
    // truncated().
    DatagramBatch(std::size_t slots, std::size_t slot_size);
    DatagramBatch(const DatagramBatch&) = delete;
    DatagramBatch& operator=(const DatagramBatch&) = delete;
    // Moving keeps the headers' pointers valid: they point into heap blocks that move along.
    DatagramBatch(DatagramBatch&&) noexcept = default;
    DatagramBatch& operator=(DatagramBatch&&) noexcept = default;

    std::size_t capacity() const { return hdrs_.size(); }
    std::size_t size() const { return size_; }           // entries kept for sending
    std::size_t room() const { return capacity() - size_; }
    bool empty() const { return size_ == 0; }

    // recvmmsg into every slot, with peer addresses and packet info (an unconnected listener
    // socket). Clears the batch first. Returns the count received, or -1 with errno.
    int receive_from(int fd);
    // recvmmsg from a connected socket into the free slots after size(), at most `max`. The
    // entries received are [size(), size() + n); keep() those to send. Returns n or -1 with errno.
    int receive_connected(int fd, std::size_t max);

    std::uint8_t* data(std::size_t i) { return static_cast<std::uint8_t*>(iov_[i].iov_base); }
    std::size_t length(std::size_t i) const { return hdrs_[i].msg_len; }
    bool truncated(std::size_t i) const { return (hdrs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }
    DatagramPeer peer(std::size_t i) const;
    // The address entry i was sent to, from its IP_PKTINFO / IPV6_PKTINFO (family AF_UNSPEC when none).
    LocalAddress local(std::size_t i) const;

    // Makes received entry i (i >= size()) the next one to send, to `to` from `from`, with its
    // received payload. Entries must be kept in increasing order.
    void keep(std::size_t i, const DatagramPeer& to, const LocalAddress& from);
    // Appends a datagram to send whose payload lives elsewhere (it must stay valid until
    // flush). Needs room().
    void add(const std::uint8_t* payload, std::size_t len, const DatagramPeer& to, const LocalAddress& from);

    struct FlushResult {
        std::size_t sent = 0;
        std::size_t sent_bytes = 0;
        std::size_t would_block = 0;  // EAGAIN / ENOBUFS: dropped
        std::size_t failed = 0;       // other errors: dropped
        int last_error = 0;
    };
    // sendmmsg of every kept entry on `fd`; a datagram the socket refuses is dropped, never
    // waited for (on EAGAIN, a full send buffer, the rest of the batch with it). Empties the
    // batch.
    FlushResult flush(int fd);
    // Forgets the kept entries without sending them.
    void clear() { size_ = 0; }

    // Room a control buffer needs for attach_source().
    static constexpr std::size_t kControlSpace = 64;  // >= CMSG_SPACE(sizeof(in6_pktinfo))
    // Points h's control data (in `control`, kControlSpace bytes) at an IP_PKTINFO /
    // IPV6_PKTINFO asking the kernel to send from `from`; nothing when `from` is unknown or of
    // another family than the destination. Any thread.
    static void attach_source(msghdr& h, unsigned char* control, int to_family, const LocalAddress& from);

private:
    void arm_receive(std::size_t i, bool named);
    void set_send_header(std::size_t i, const DatagramPeer& to, const LocalAddress& from);

    std::size_t slot_size_;
    std::unique_ptr<std::uint8_t[]> arena_;
    std::vector<mmsghdr> hdrs_;
    std::vector<iovec> iov_;
    std::vector<sockaddr_in6> names_;  // large enough for sockaddr_in too
    struct alignas(alignof(cmsghdr)) Control {
        unsigned char bytes[kControlSpace];
    };
    std::vector<Control> control_;
    std::size_t size_ = 0;
};

}  // namespace switchyard
