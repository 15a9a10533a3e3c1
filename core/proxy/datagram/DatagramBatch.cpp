#include "core/proxy/datagram/DatagramBatch.hpp"

#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace switchyard {

DatagramBatch::DatagramBatch(std::size_t slots, std::size_t slot_size)
    : slot_size_(slot_size),
      // for_overwrite: the kernel writes a slot before anyone reads it, and untouched pages of
      // the arena stay unbacked (small datagrams touch one page per slot).
      arena_(std::make_unique_for_overwrite<std::uint8_t[]>(slots * slot_size)),
      hdrs_(slots),
      iov_(slots),
      names_(slots),
      control_(slots) {
    for (std::size_t i = 0; i < slots; ++i) iov_[i] = iovec{arena_.get() + i * slot_size, slot_size};
}

void DatagramBatch::arm_receive(std::size_t i, bool named) {
    msghdr& h = hdrs_[i].msg_hdr;
    iov_[i].iov_len = slot_size_;
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
    h.msg_name = named ? &names_[i] : nullptr;
    h.msg_namelen = named ? sizeof(sockaddr_in6) : 0;
    h.msg_control = named ? control_[i].bytes : nullptr;
    h.msg_controllen = named ? kControlSpace : 0;
    h.msg_flags = 0;
    hdrs_[i].msg_len = 0;
}

int DatagramBatch::receive_from(int fd) {
    size_ = 0;
    for (std::size_t i = 0; i < hdrs_.size(); ++i) arm_receive(i, true);
    return ::recvmmsg(fd, hdrs_.data(), static_cast<unsigned>(hdrs_.size()), MSG_DONTWAIT, nullptr);
}

int DatagramBatch::receive_connected(int fd, std::size_t max) {
    std::size_t n = std::min(max, room());
    for (std::size_t i = size_; i < size_ + n; ++i) arm_receive(i, false);
    return ::recvmmsg(fd, hdrs_.data() + size_, static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
}

DatagramPeer DatagramBatch::peer(std::size_t i) const {
    return DatagramPeer::from(reinterpret_cast<const sockaddr*>(&names_[i]), hdrs_[i].msg_hdr.msg_namelen);
}

LocalAddress DatagramBatch::local(std::size_t i) const {
    LocalAddress out;
    const msghdr& h = hdrs_[i].msg_hdr;
    if (h.msg_control == nullptr) return out;
    for (const cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), const_cast<cmsghdr*>(c))) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            in_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            out.family = AF_INET;
            out.ip.v4 = info.ipi_addr;
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            in6_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            out.family = AF_INET6;
            out.ip.v6 = info.ipi6_addr;
        }
    }
    return out;
}

void DatagramBatch::set_send_header(std::size_t i, const DatagramPeer& to, const LocalAddress& from) {
    msghdr& h = hdrs_[i].msg_hdr;
    std::memcpy(&names_[i], to.data(), to.length);
    h.msg_name = &names_[i];
    h.msg_namelen = to.length;
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
    h.msg_flags = 0;
    attach_source(h, control_[i].bytes, to.family(), from);
}

void DatagramBatch::attach_source(msghdr& h, unsigned char* control, int to_family, const LocalAddress& from) {
    h.msg_control = nullptr;
    h.msg_controllen = 0;
    if (from.family == AF_UNSPEC || from.family != to_family) return;
    // The source address of the reply: the one the client sent to (nginx sets it the same way).
    std::memset(control, 0, kControlSpace);
    h.msg_control = control;
    cmsghdr* c;
    if (from.family == AF_INET) {
        h.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
        c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
        in_pktinfo info{};
        info.ipi_spec_dst = from.ip.v4;
        std::memcpy(CMSG_DATA(c), &info, sizeof info);
    } else {
        h.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
        c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
        in6_pktinfo info{};
        info.ipi6_addr = from.ip.v6;
        std::memcpy(CMSG_DATA(c), &info, sizeof info);
    }
}

void DatagramBatch::keep(std::size_t i, const DatagramPeer& to, const LocalAddress& from) {
    const std::size_t len = hdrs_[i].msg_len;
    if (i != size_) {
        // Entries between were dropped: move this one's slot down so kept entries stay contiguous.
        std::swap(iov_[i].iov_base, iov_[size_].iov_base);
    }
    iov_[size_].iov_len = len;
    hdrs_[size_].msg_len = static_cast<unsigned>(len);
    set_send_header(size_, to, from);
    ++size_;
}

void DatagramBatch::add(const std::uint8_t* payload, std::size_t len, const DatagramPeer& to, const LocalAddress& from) {
    // This entry's slot pointer is set aside until flush() gives every entry its slot back;
    // entries after it keep slots of their own, so nothing is shared.
    iov_[size_].iov_base = const_cast<std::uint8_t*>(payload);
    iov_[size_].iov_len = len;
    hdrs_[size_].msg_len = static_cast<unsigned>(len);
    set_send_header(size_, to, from);
    ++size_;
}

DatagramBatch::FlushResult DatagramBatch::flush(int fd) {
    FlushResult r;
    std::size_t i = 0;
    while (i < size_) {
        int n = ::sendmmsg(fd, hdrs_.data() + i, static_cast<unsigned>(size_ - i), MSG_DONTWAIT);
        if (n > 0) {
            for (int k = 0; k < n; ++k) r.sent_bytes += iov_[i + static_cast<std::size_t>(k)].iov_len;
            r.sent += static_cast<std::size_t>(n);
            i += static_cast<std::size_t>(n);
            continue;
        }
        int e = errno;
        if (e == EINTR) continue;
        // The datagram at i was refused: drop it (a datagram that cannot be sent now is never
        // waited for) and go on with the rest. EAGAIN says the socket's send buffer is full,
        // whatever the size: the rest of the batch would meet it too, so it is dropped at once
        // rather than one system call each. ENOBUFS can be one packet's: only that one goes.
        if (e == EAGAIN || e == EWOULDBLOCK) {
            r.would_block += size_ - i;
            break;
        }
        if (e == ENOBUFS) ++r.would_block;
        else {
            ++r.failed;
            r.last_error = e;
        }
        ++i;
    }
    size_ = 0;
    // Payloads added from elsewhere borrowed the slot pointers: give every slot its own again.
    for (std::size_t k = 0; k < hdrs_.size(); ++k) iov_[k].iov_base = arena_.get() + k * slot_size_;
    return r;
}

}  // namespace switchyard
