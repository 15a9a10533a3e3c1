#pragma once
// A stream listener (TCP v4/v6 or unix): its listening socket(s) and accept path.
// reuse_port: false — one socket, accepted on loop 0; the balancer picks the loop for every
//   connection and the socket is handed to that loop.
// reuse_port: true  — one SO_REUSEPORT socket per loop, so the kernel spreads new connections
//   over the loops (a hash of the 4-tuple) and accept runs in parallel; the balancer is still
//   consulted and a connection is handed to another loop only when it picks one.
// A listener outlives a configuration: a reload that keeps its socket identity (protocol,
// address, reuse_port) switches it to the next generation's context without closing or
// rebinding its sockets, so nothing queued in the accept backlog is lost.
#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

#include "core/options/Options.hpp"

namespace switchyard {

class LoopGroup;
struct ListenerContext;

class Listener {
public:
    // `ctx` must outlive the listener's use of it: until switch_context() to another, or
    // stop_accepting().
    Listener(ListenerContext& ctx, LoopGroup& loops);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    // Control thread, before the loops run. Binds and listens; throws std::runtime_error with
    // one line naming the listener, address and cause ("listener web: bind 0.0.0.0:80:
    // Address already in use").
    void open();
    // Control thread, before start_accepting(), instead of open(): takes over `fds`, listening
    // sockets passed by systemd (socket activation) or by the process this one replaces (binary
    // upgrade); the listener owns them from here. Each must be a listening stream socket of the
    // listener's kind (TCP for tcp, AF_UNIX for unix), or std::runtime_error names the listener
    // and the problem. A socket bound elsewhere than `listen` says is used all the same, with a
    // warning: whoever passed it decided the address. Socket i is accepted on loop i % loops.
    void adopt(std::vector<int> fds);
    // Control thread, binary upgrade: another process accepts on this socket file now; do not
    // unlink it when this listener stops.
    void keep_socket_file() { unix_path_.clear(); }
    // Control thread: the listening sockets, for a binary upgrade to pass on (still owned here).
    std::vector<int> listening_fds() const;
    // Control thread: queues the first accept on every accepting loop.
    void start_accepting();
    // Any thread, while the loops run: stops accepting and closes the listening sockets (on their loops when they
    // run); unlinks a unix socket file this listener created. Blocks until done.
    void stop_accepting();

    // Control thread: whether `next` can keep this listener's sockets (same protocol, listen
    // address and reuse_port); everything else can change on a switch_context().
    bool can_keep_sockets(const ListenerOptions& next) const;
    // Control thread, while the loops run: new connections use `next` from now on (sessions
    // already open keep theirs). Applies a new backlog and unix file mode to the kept sockets.
    // Blocks until every accepting loop has switched.
    void switch_context(ListenerContext& next);

    // Any thread after open(): the address actually bound ("127.0.0.1:41234", "unix:/p").
    const std::string& bound_address() const { return bound_address_; }
    // Control thread (a reload renames it).
    const std::string& name() const { return name_; }
    // Control thread: the context new connections get now.
    ListenerContext& context() const { return *ctx_; }

private:
    struct Acceptor;
    void on_acceptable(Acceptor& a);
    void dispatch(Acceptor& a, int fd, const ::sockaddr* peer, unsigned peer_len);
    // Runs fn(acceptor) on each acceptor's loop thread and waits for all of them.
    template <class Fn>
    void on_each_acceptor_loop(Fn fn);

    ListenerContext* ctx_;  // control thread's view; each acceptor has the loop's own
    std::string name_;
    LoopGroup& loops_;
    std::vector<std::unique_ptr<Acceptor>> acceptors_;
    std::string bound_address_;
    std::string unix_path_;     // set when we created the socket file (unlinked on stop)
    unsigned long unix_inode_ = 0;
};

}  // namespace switchyard
