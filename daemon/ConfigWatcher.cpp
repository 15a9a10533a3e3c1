#include "daemon/ConfigWatcher.hpp"

#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "daemon/ConfigHash.hpp"

namespace switchyard {

ConfigWatcher::ConfigWatcher(std::string path, std::function<void()> on_change)
    : path_(std::move(path)), on_change_(std::move(on_change)) {}

ConfigWatcher::~ConfigWatcher() {
    if (thread_.joinable()) {
        std::uint64_t one = 1;
        (void)::write(stop_fd_, &one, sizeof one);
        thread_.join();
    }
    if (inotify_fd_ >= 0) ::close(inotify_fd_);
    if (stop_fd_ >= 0) ::close(stop_fd_);
}

void ConfigWatcher::start(const std::string& loaded_hash) {
    std::filesystem::path dir = std::filesystem::absolute(path_).parent_path();
    inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (inotify_fd_ < 0 || stop_fd_ < 0)
        throw std::runtime_error(std::string("watch_config: inotify: ") + std::strerror(errno));
    const std::uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB | IN_MODIFY;
    if (::inotify_add_watch(inotify_fd_, dir.c_str(), mask) < 0)
        throw std::runtime_error("watch_config: cannot watch " + dir.string() + ": " + std::strerror(errno));
    spdlog::info("watch_config: watching {} for changes to {}", dir.string(), path_);
    thread_ = std::thread([this, loaded_hash] { run(loaded_hash); });
}

void ConfigWatcher::run(std::string last_hash) {
    ::pthread_setname_np(::pthread_self(), "sy-watch");
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    bool pending = false;
    for (;;) {
        // After an event, wait for 200 ms of quiet: a save is often several events.
        int ready = ::poll(fds, 2, pending ? 200 : -1);
        if (ready < 0) {
            if (errno == EINTR) continue;
            spdlog::error("watch_config: poll: {}; no longer watching", std::strerror(errno));
            return;
        }
        if (fds[1].revents) return;
        if (ready > 0 && (fds[0].revents & POLLIN)) {
            alignas(inotify_event) char buffer[4096];
            while (::read(inotify_fd_, buffer, sizeof buffer) > 0) {
            }
            pending = true;
            continue;
        }
        pending = false;  // quiet for 200 ms
        std::string hash = config_file_hash(path_);
        if (hash.empty() || hash == last_hash) continue;  // gone for a moment, or unchanged
        spdlog::info("watch_config: {} changed (hash {}): reloading", path_, hash);
        last_hash = hash;
        on_change_();
    }
}

}  // namespace switchyard
