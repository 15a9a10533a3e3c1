#pragma once
// The systemd notify protocol (Type=notify): READY=1 once listening, STOPPING=1 on shutdown,
// STATUS= lines. A no-op when NOTIFY_SOCKET is unset. Control thread only.
#include <string>

namespace switchyard {

class SystemdNotifier {
public:
    void ready(const std::string& status);
    void stopping(const std::string& status);
    void status(const std::string& status);

private:
    void send(const std::string& message);
};

}  // namespace switchyard
