#pragma once
// Binary upgrade without a dropped connection, as nginx's USR2 and HAProxy's -x do it: on SIGUSR2
// the running process starts the binary now on disk (a package upgrade replaced it) with the same
// command line, passing its listening sockets (and the admin endpoint's) as inherited descriptors
// named in SWITCHYARD_UPGRADE_FDS ("web=5,6;@admin=7"). The new process adopts them instead of
// binding (so nothing queued in an accept backlog is lost and no port is ever closed), starts,
// tells systemd it is the main process now (MAINPID=, READY=1; the unit needs NotifyAccess=all),
// and writes one byte to SWITCHYARD_UPGRADE_READY_FD. Only then does the old process close its
// copies of the sockets and drain its connections for up to shutdown_timeout, as on SIGTERM. If
// the new process fails, the old one keeps serving as before.
#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "core/net/InheritedSockets.hpp"

namespace switchyard {

class BinaryUpgrade {
public:
    // Control thread, at start-up: the binary's absolute path and the command line, kept for a
    // later upgrade (the path resolved now, so a replaced file is found by its name).
    BinaryUpgrade(std::vector<std::string> args);

    // Old process, control thread: starts the new process with `sockets` (listener name ->
    // listening descriptors, still owned by the caller) and waits up to `timeout` for it to say
    // it serves. True when it did; false (logged) when it failed or timed out, in which case it
    // has been stopped and this process goes on serving.
    bool hand_over(const std::vector<std::pair<std::string, std::vector<int>>>& sockets,
                   std::chrono::milliseconds timeout);

    // New process, control thread, at start-up: the sockets the old process passed (empty when
    // this process was not started by an upgrade). Unsets the variables.
    static InheritedSockets sockets_from_previous_process();
    // New process, control thread, once serving: tells the old process to let go. No-op when
    // this process was not started by an upgrade.
    static void signal_previous_process();
    // New process: whether this process was started by an upgrade (before signal_…() unsets it).
    static bool started_by_upgrade();

private:
    std::string binary_;
    std::vector<std::string> args_;  // argv[1..]
};

}  // namespace switchyard
