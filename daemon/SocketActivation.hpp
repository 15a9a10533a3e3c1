#pragma once
// systemd socket activation (sd_listen_fds(3)): the listening sockets a .socket unit passed, by
// the FileDescriptorName= each has (LISTEN_FDNAMES), which must be the name of the listener that
// takes it. The variables are unset so no child process inherits them.
#include "core/net/InheritedSockets.hpp"

namespace switchyard {

// Control thread, once at start-up. Empty when the process was not socket-activated.
InheritedSockets sockets_from_systemd();

}  // namespace switchyard
