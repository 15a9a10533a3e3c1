// switchyard-udpgen: UDP load for the benchmark's UDP rows, against any target (direct, nginx,
// switchyard). Single-threaded, epoll, one connected socket per client.
//   --mode pingpong   every client keeps one datagram in flight: send, wait for the reply (an
//                     echo), record the round trip, send the next. A reply missing for 200 ms
//                     counts as lost and the client sends again. Prints datagrams/s (replies),
//                     p50/p99 latency and losses.
//   --mode oneway     the clients send `--rate` datagrams/s in total (paced every millisecond)
//                     and expect nothing back. Prints how many were sent.
//   --sink            receives on --listen and counts; prints the count on SIGTERM/SIGINT.
// Output: one JSON object on stdout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;

std::uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::uint64_t(ts.tv_sec) * 1000000000ull + std::uint64_t(ts.tv_nsec);
}

bool parse_addr(const std::string& text, sockaddr_storage* out, socklen_t* len) {
    std::memset(out, 0, sizeof *out);
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return false;
    std::string host = text.substr(0, colon);
    int port = std::atoi(text.c_str() + colon + 1);
    if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
    if (host.find(':') != std::string::npos) {
        auto* a = reinterpret_cast<sockaddr_in6*>(out);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(static_cast<std::uint16_t>(port));
        *len = sizeof *a;
        return inet_pton(AF_INET6, host.c_str(), &a->sin6_addr) == 1;
    }
    auto* a = reinterpret_cast<sockaddr_in*>(out);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<std::uint16_t>(port));
    *len = sizeof *a;
    return inet_pton(AF_INET, host.c_str(), &a->sin_addr) == 1;
}

struct Options {
    std::string mode = "pingpong";
    std::string target;
    std::string listen;
    int clients = 100;
    int size = 64;
    double duration = 5;
    double warmup = 0.5;
    long rate = 100000;
    bool sink = false;
};

int run_sink(const Options& o) {
    sockaddr_storage sa;
    socklen_t len;
    if (!parse_addr(o.listen, &sa, &len)) return 2;
    int fd = socket(sa.ss_family, SOCK_DGRAM, 0);
    int big = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0) {
        perror("bind");
        return 1;
    }
    sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
    std::printf("listening %d\n", ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port));
    std::fflush(stdout);
    constexpr int kBatch = 64;
    static char bufs[kBatch][2048];
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    std::uint64_t received = 0;
    while (!g_stop) {
        for (int i = 0; i < kBatch; ++i) {
            iov[i] = {bufs[i], sizeof bufs[i]};
            std::memset(&msgs[i], 0, sizeof msgs[i]);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(fd, msgs, kBatch, MSG_WAITFORONE, nullptr);
        if (n > 0) received += static_cast<std::uint64_t>(n);
    }
    std::printf("{\"received\": %llu}\n", static_cast<unsigned long long>(received));
    return 0;
}

struct Client {
    int fd = -1;
    std::uint64_t sent_at = 0;
    std::uint64_t seq = 0;
};

int run_clients(const Options& o) {
    sockaddr_storage sa;
    socklen_t len;
    if (!parse_addr(o.target, &sa, &len)) return 2;
    int ep = epoll_create1(0);
    std::vector<Client> clients(static_cast<std::size_t>(o.clients));
    for (std::size_t i = 0; i < clients.size(); ++i) {
        int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0) {
            perror("socket/connect");
            return 1;
        }
        clients[i].fd = fd;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    std::vector<char> payload(static_cast<std::size_t>(std::max(o.size, 16)), 'x');
    const bool pingpong = o.mode == "pingpong";
    std::vector<std::uint32_t> latency_us;  // measured phase only
    latency_us.reserve(1 << 20);
    std::uint64_t start = now_ns();
    std::uint64_t measure_from = start + std::uint64_t(o.warmup * 1e9);
    std::uint64_t end = measure_from + std::uint64_t(o.duration * 1e9);
    std::uint64_t replies = 0, lost = 0, sent = 0, send_failed = 0;
    auto send_one = [&](Client& c, std::uint64_t t) {
        std::memcpy(payload.data(), &t, 8);
        std::memcpy(payload.data() + 8, &c.seq, 8);
        if (send(c.fd, payload.data(), payload.size(), 0) >= 0) {
            if (t >= measure_from) ++sent;
        } else if (t >= measure_from) {
            ++send_failed;
        }
        c.sent_at = t;
    };
    char buf[65536];
    if (pingpong) {
        for (auto& c : clients) send_one(c, now_ns());
        epoll_event events[256];
        std::uint64_t last_scan = now_ns();
        while (!g_stop) {
            int n = epoll_wait(ep, events, 256, 10);
            std::uint64_t t = now_ns();
            if (t >= end) break;
            for (int k = 0; k < n; ++k) {
                Client& c = clients[events[k].data.u64];
                for (;;) {
                    ssize_t r = recv(c.fd, buf, sizeof buf, 0);
                    if (r < 16) break;
                    std::uint64_t seq;
                    std::memcpy(&seq, buf + 8, 8);
                    if (seq != c.seq) continue;  // a late reply to a datagram counted lost
                    if (c.sent_at >= measure_from) {
                        ++replies;
                        latency_us.push_back(static_cast<std::uint32_t>((t - c.sent_at) / 1000));
                    }
                    ++c.seq;
                    send_one(c, t);
                }
            }
            if (t - last_scan > 20000000ull) {  // every 20 ms: replies missing for 200 ms are lost
                last_scan = t;
                for (auto& c : clients)
                    if (t - c.sent_at > 200000000ull) {
                        if (c.sent_at >= measure_from) ++lost;
                        ++c.seq;
                        send_one(c, t);
                    }
            }
        }
        std::sort(latency_us.begin(), latency_us.end());
        auto pct = [&](double p) {
            return latency_us.empty() ? 0u : latency_us[std::min(latency_us.size() - 1, std::size_t(p * latency_us.size()))];
        };
        std::printf("{\"mode\": \"pingpong\", \"datagrams_per_s\": %.0f, \"p50_us\": %u, \"p99_us\": %u, \"sent\": %llu, "
                    "\"lost\": %llu, \"send_failed\": %llu}\n",
                    double(replies) / o.duration, pct(0.50), pct(0.99), static_cast<unsigned long long>(sent),
                    static_cast<unsigned long long>(lost), static_cast<unsigned long long>(send_failed));
        return 0;
    }
    // One way, paced: every millisecond, send what the rate owes so far, round-robin over clients.
    std::size_t next = 0;
    std::uint64_t owed_from = now_ns();
    std::uint64_t done = 0;
    while (!g_stop) {
        std::uint64_t t = now_ns();
        if (t >= end) break;
        std::uint64_t due = (t - owed_from) * std::uint64_t(o.rate) / 1000000000ull;
        // A rate above what this thread can send is "as fast as it can": never owe more than
        // 10 ms of it, so the run ends on time.
        const std::uint64_t most = std::max<std::uint64_t>(1, std::uint64_t(o.rate) / 100);
        if (due > done + most) done = due - most;
        while (done < due) {
            send_one(clients[next], t);
            next = (next + 1) % clients.size();
            ++done;
        }
        timespec ms{0, 1000000};
        nanosleep(&ms, nullptr);
    }
    std::printf("{\"mode\": \"oneway\", \"sent\": %llu, \"send_failed\": %llu, \"seconds\": %.3f}\n",
                static_cast<unsigned long long>(sent), static_cast<unsigned long long>(send_failed), o.duration);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--mode") o.mode = value();
        else if (a == "--target") o.target = value();
        else if (a == "--listen") o.listen = value();
        else if (a == "--clients") o.clients = std::atoi(value().c_str());
        else if (a == "--size") o.size = std::atoi(value().c_str());
        else if (a == "--duration") o.duration = std::atof(value().c_str());
        else if (a == "--warmup") o.warmup = std::atof(value().c_str());
        else if (a == "--rate") o.rate = std::atol(value().c_str());
        else if (a == "--sink") o.sink = true;
        else {
            std::fprintf(stderr, "usage: %s [--sink --listen ADDR] | --target ADDR [--mode pingpong|oneway] "
                                 "[--clients N] [--size BYTES] [--duration S] [--warmup S] [--rate N]\n", argv[0]);
            return 2;
        }
    }
    struct sigaction sa{};
    sa.sa_handler = [](int) { g_stop = 1; };
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    return o.sink ? run_sink(o) : run_clients(o);
}
