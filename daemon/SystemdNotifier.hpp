#pragma once
// The systemd notify protocol (sd_notify(3), Type=notify): READY=1 once every listener is
// bound; RELOADING=1 with MONOTONIC_USEC at the start of a reload and READY=1 when it is done
// (applied or refused); STOPPING=1 on shutdown; STATUS= lines with connection counts; WATCHDOG=1
// while the loops tick, when the unit sets WatchdogSec. A no-op when NOTIFY_SOCKET is unset.
// Control thread only.
#include <chrono>
#include <string>

namespace switchyard {

class SystemdNotifier {
public:
    void ready(const std::string& status);
    void reloading(const std::string& status);
    void stopping(const std::string& status);
    // Sends STATUS= only when it differs from the last one sent.
    void status(const std::string& status);
    void watchdog();
    // MAINPID=<this process>: after a binary upgrade the new process is the unit's main process
    // (the unit needs NotifyAccess=all for systemd to take it from a child).
    void main_pid();

    // The watchdog interval systemd asked for (WATCHDOG_USEC for this process), or 0 when none.
    std::chrono::microseconds watchdog_interval() const;

private:
    void send(const std::string& message);
    std::string last_status_;
};

}  // namespace switchyard
