#pragma once
// A stream listener (TCP v4/v6 or unix): its listening socket(s) and accept path.
// reuse_port: false — one socket, accepted on loop 0; the balancer picks the loop for every
//   connection and the socket is handed to that loop.
// reuse_port: true  — one SO_REUSEPORT socket per loop, so the kernel spreads new connections
//   over the loops (a hash of the 4-tuple) and accept runs in parallel; the balancer is still
//   consulted and a connection is handed to another loop only when it picks one.
#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

#include "core/loop/LoopBalancer.hpp"

namespace switchyard {

class LoopGroup;
struct ListenerContext;

class Listener {
public:
    Listener(ListenerContext& ctx, LoopGroup& loops);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    // Control thread, before the loops run. Binds and listens; throws std::runtime_error with
    // one line naming the listener, address and cause ("listener web: bind 0.0.0.0:80:
    // Address already in use").
    void open();
    // Control thread: queues the first accept on every accepting loop.
    void start_accepting();
    // Any thread, while the loops run: stops accepting and closes the listening sockets (on their loops when they
    // run); unlinks a unix socket file this listener created. Blocks until done.
    void stop_accepting();

    // Any thread after open(): the address actually bound ("127.0.0.1:41234", "unix:/p").
    const std::string& bound_address() const { return bound_address_; }
    const std::string& name() const;

private:
    struct Acceptor;
    void on_acceptable(Acceptor& a);
    void dispatch(Acceptor& a, int fd, const ::sockaddr* peer, unsigned peer_len);

    ListenerContext& ctx_;
    LoopGroup& loops_;
    LoopBalancer balancer_;
    std::vector<std::unique_ptr<Acceptor>> acceptors_;
    std::string bound_address_;
    std::string unix_path_;     // set when we created the socket file (unlinked on stop)
    unsigned long unix_inode_ = 0;
};

}  // namespace switchyard
