#pragma once
// A fast echo server, so benchmarks have a backend that echoes without nginx: every byte read
// is written back. One io_context per thread; one acceptor hands each accepted socket to the
// next thread round-robin, where the connection stays for its whole life.
#include <memory>

#include "tests/bench/loadgen/LoadgenOptions.hpp"

namespace switchyard::loadgen {

class EchoServer {
public:
    // Thread rule: main thread.
    explicit EchoServer(const LoadgenOptions& options);
    ~EchoServer();

    // Binds, prints {"event":"listening","address":"..."} on stdout, serves until SIGINT/SIGTERM
    // or --duration; returns the process exit code. Thread rule: main thread.
    int run();

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::loadgen
