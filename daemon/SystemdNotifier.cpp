#include "daemon/SystemdNotifier.hpp"

#include <spdlog/spdlog.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#if SWITCHYARD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace switchyard {

namespace {

// CLOCK_MONOTONIC in microseconds: what systemd compares RELOADING=1's MONOTONIC_USEC with.
std::uint64_t monotonic_usec() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

}  // namespace

void SystemdNotifier::ready(const std::string& status) {
    last_status_ = status;
    send("READY=1\nSTATUS=" + status);
}

void SystemdNotifier::reloading(const std::string& status) {
    last_status_ = status;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()) + "\nSTATUS=" + status);
}

void SystemdNotifier::stopping(const std::string& status) {
    last_status_ = status;
    send("STOPPING=1\nSTATUS=" + status);
}

void SystemdNotifier::status(const std::string& status) {
    if (status == last_status_) return;
    last_status_ = status;
    send("STATUS=" + status);
}

void SystemdNotifier::watchdog() { send("WATCHDOG=1"); }

void SystemdNotifier::main_pid() { send("MAINPID=" + std::to_string(::getpid())); }

std::chrono::microseconds SystemdNotifier::watchdog_interval() const {
#if SWITCHYARD_HAVE_SYSTEMD
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0) return std::chrono::microseconds(usec);
#endif
    return std::chrono::microseconds(0);
}

void SystemdNotifier::send(const std::string& message) {
#if SWITCHYARD_HAVE_SYSTEMD
    int rc = sd_notify(0, message.c_str());
    if (rc < 0) spdlog::warn("systemd notify failed: {}", std::strerror(-rc));
#else
    (void)message;
#endif
}

}  // namespace switchyard
