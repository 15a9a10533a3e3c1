#pragma once
// Listening sockets this process did not open itself, by the name of the listener that takes
// them: passed by systemd (socket activation, sd_listen_fds(3): LISTEN_FDS and LISTEN_FDNAMES,
// FileDescriptorName= in the .socket unit) or by the switchyard process this one replaces in a
// binary upgrade. A listener with that name adopts them instead of binding (Listener::adopt).
// Owns the descriptors it holds: whatever is not taken is closed when it goes. Control thread.
#include <map>
#include <string>
#include <vector>

namespace switchyard {

class InheritedSockets {
public:
    InheritedSockets() = default;
    ~InheritedSockets();
    InheritedSockets(InheritedSockets&& other) noexcept;
    InheritedSockets& operator=(InheritedSockets&& other) noexcept;
    InheritedSockets(const InheritedSockets&) = delete;
    InheritedSockets& operator=(const InheritedSockets&) = delete;

    // Takes ownership of `fd` for the listener `name` (one name may have several sockets).
    void add(const std::string& name, int fd);
    // Hands over the sockets for `name` (the caller owns them now); empty when there are none.
    std::vector<int> take(const std::string& name);
    // Names still holding sockets, in name order.
    std::vector<std::string> names() const;
    bool empty() const { return fds_.empty(); }
    // Where the sockets came from, for log lines ("systemd", "the previous process").
    std::string origin;

private:
    void close_all();
    std::map<std::string, std::vector<int>> fds_;
};

}  // namespace switchyard
