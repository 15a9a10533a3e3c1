#include "core/net/InheritedSockets.hpp"

#include <unistd.h>

namespace switchyard {

InheritedSockets::~InheritedSockets() { close_all(); }

InheritedSockets::InheritedSockets(InheritedSockets&& other) noexcept
    : origin(std::move(other.origin)), fds_(std::move(other.fds_)) {
    other.fds_.clear();
}

InheritedSockets& InheritedSockets::operator=(InheritedSockets&& other) noexcept {
    if (this != &other) {
        close_all();
        fds_ = std::move(other.fds_);
        other.fds_.clear();
        origin = std::move(other.origin);
    }
    return *this;
}

void InheritedSockets::add(const std::string& name, int fd) { fds_[name].push_back(fd); }

std::vector<int> InheritedSockets::take(const std::string& name) {
    auto it = fds_.find(name);
    if (it == fds_.end()) return {};
    std::vector<int> out = std::move(it->second);
    fds_.erase(it);
    return out;
}

std::vector<std::string> InheritedSockets::names() const {
    std::vector<std::string> out;
    for (const auto& [name, fds] : fds_) out.push_back(name);
    return out;
}

void InheritedSockets::close_all() {
    for (auto& [name, fds] : fds_)
        for (int fd : fds) ::close(fd);
    fds_.clear();
}

}  // namespace switchyard
