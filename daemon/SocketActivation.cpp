#include "daemon/SocketActivation.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>
#include <string>

#if SWITCHYARD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace switchyard {

InheritedSockets sockets_from_systemd() {
    InheritedSockets sockets;
    sockets.origin = "systemd";
#if SWITCHYARD_HAVE_SYSTEMD
    char** names = nullptr;
    const int count = sd_listen_fds_with_names(/*unset_environment=*/1, &names);
    if (count < 0) {
        spdlog::error("socket activation: {}", std::strerror(-count));
        return sockets;
    }
    for (int i = 0; i < count; ++i) {
        const int fd = SD_LISTEN_FDS_START + i;
        std::string name = names && names[i] ? names[i] : "unknown";
        sockets.add(name, fd);
        spdlog::info("socket activation: fd {} named {}", fd, name);
    }
    if (names) {
        for (int i = 0; i < count; ++i) std::free(names[i]);
        std::free(names);
    }
#endif
    return sockets;
}

}  // namespace switchyard
