#include "daemon/SystemdNotifier.hpp"

#include <spdlog/spdlog.h>

#if SWITCHYARD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace switchyard {

void SystemdNotifier::ready(const std::string& status) { send("READY=1\nSTATUS=" + status); }
void SystemdNotifier::stopping(const std::string& status) { send("STOPPING=1\nSTATUS=" + status); }
void SystemdNotifier::status(const std::string& status) { send("STATUS=" + status); }

void SystemdNotifier::send(const std::string& message) {
#if SWITCHYARD_HAVE_SYSTEMD
    int rc = sd_notify(0, message.c_str());
    if (rc < 0) spdlog::warn("systemd notify failed: {}", std::strerror(-rc));
#else
    (void)message;
#endif
}

}  // namespace switchyard
