#include "daemon/BinaryUpgrade.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

extern char** environ;

namespace switchyard {

namespace {

constexpr const char* kFdsVariable = "SWITCHYARD_UPGRADE_FDS";
constexpr const char* kReadyVariable = "SWITCHYARD_UPGRADE_READY_FD";

std::string own_binary_path() {
    char buffer[4096];
    ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
    if (n <= 0) return {};
    return std::string(buffer, static_cast<std::size_t>(n));
}

}  // namespace

BinaryUpgrade::BinaryUpgrade(std::vector<std::string> args) : binary_(own_binary_path()), args_(std::move(args)) {}

bool BinaryUpgrade::hand_over(const std::vector<std::pair<std::string, std::vector<int>>>& sockets,
                              std::chrono::milliseconds timeout) {
    if (binary_.empty()) {
        spdlog::error("binary upgrade: cannot tell where this binary is (/proc/self/exe)");
        return false;
    }
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) {
        spdlog::error("binary upgrade: pipe: {}", std::strerror(errno));
        return false;
    }
    // Everything the child needs is built before fork: between fork and exec only
    // async-signal-safe calls are allowed in a threaded process.
    std::string fds_value;
    std::vector<int> passed;
    for (const auto& [name, fds] : sockets) {
        if (fds.empty()) continue;
        if (!fds_value.empty()) fds_value += ';';
        fds_value += name + '=';
        for (std::size_t i = 0; i < fds.size(); ++i) {
            fds_value += (i ? "," : "") + std::to_string(fds[i]);
            passed.push_back(fds[i]);
        }
    }
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
        std::string_view entry(*e);
        if (entry.starts_with(kFdsVariable) || entry.starts_with(kReadyVariable)) continue;
        env_strings.emplace_back(entry);
    }
    env_strings.push_back(std::string(kFdsVariable) + "=" + fds_value);
    env_strings.push_back(std::string(kReadyVariable) + "=" + std::to_string(ready[1]));
    std::vector<char*> envp;
    envp.reserve(env_strings.size() + 1);
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_strings{binary_};
    argv_strings.insert(argv_strings.end(), args_.begin(), args_.end());
    std::vector<char*> argv;
    argv.reserve(argv_strings.size() + 1);
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);

    const pid_t child = ::fork();
    if (child < 0) {
        spdlog::error("binary upgrade: fork: {}", std::strerror(errno));
        ::close(ready[0]);
        ::close(ready[1]);
        return false;
    }
    if (child == 0) {
        for (int fd : passed) ::fcntl(fd, F_SETFD, 0);  // inherited across exec
        ::fcntl(ready[1], F_SETFD, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(ready[1]);
    spdlog::info("binary upgrade: started {} as process {}, passing {} socket(s); waiting for it to serve",
                 binary_, child, passed.size());
    pollfd p{ready[0], POLLIN, 0};
    char byte = 0;
    int polled = ::poll(&p, 1, static_cast<int>(timeout.count()));
    const bool ok = polled == 1 && ::read(ready[0], &byte, 1) == 1;
    ::close(ready[0]);
    if (ok) {
        spdlog::info("binary upgrade: process {} serves now; this process ({}) stops accepting and drains",
                     child, ::getpid());
        return true;
    }
    // It died (the pipe closed without a byte) or hung: make sure it is gone, and go on serving.
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    spdlog::error("binary upgrade: the new process {} did not start serving ({}); this process goes on serving",
                  child, polled == 0 ? "timed out" : "it exited; see its log lines above");
    return false;
}

InheritedSockets BinaryUpgrade::sockets_from_previous_process() {
    InheritedSockets sockets;
    sockets.origin = "the previous process";
    const char* value = std::getenv(kFdsVariable);
    if (value == nullptr) return sockets;
    std::string_view rest(value);
    while (!rest.empty()) {
        std::size_t semi = rest.find(';');
        std::string_view item = rest.substr(0, semi);
        rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
        std::size_t eq = item.find('=');
        if (eq == std::string_view::npos) continue;
        std::string name(item.substr(0, eq));
        std::string_view fds = item.substr(eq + 1);
        while (!fds.empty()) {
            std::size_t comma = fds.find(',');
            int fd = std::atoi(std::string(fds.substr(0, comma)).c_str());
            fds = comma == std::string_view::npos ? std::string_view{} : fds.substr(comma + 1);
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
            sockets.add(name, fd);
        }
    }
    ::unsetenv(kFdsVariable);
    return sockets;
}

bool BinaryUpgrade::started_by_upgrade() { return std::getenv(kReadyVariable) != nullptr; }

void BinaryUpgrade::signal_previous_process() {
    const char* value = std::getenv(kReadyVariable);
    if (value == nullptr) return;
    const int fd = std::atoi(value);
    const char byte = 1;
    if (::write(fd, &byte, 1) != 1) spdlog::warn("binary upgrade: cannot tell the previous process: {}", std::strerror(errno));
    ::close(fd);
    ::unsetenv(kReadyVariable);
}

}  // namespace switchyard
