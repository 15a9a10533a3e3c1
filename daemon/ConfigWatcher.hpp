#pragma once
// `watch_config: true`: reloads the daemon when its configuration file changes, the way SIGHUP
// does (it raises SIGHUP, so both take one path). Watches the file's directory with inotify, not
// the file, so every way a file gets replaced is seen: an editor writing a new file and renaming
// it over the old one, `kubectl` updating a ConfigMap volume (kubelet swaps the `..data` symlink
// the file points through), or a plain write. Any event in the directory is followed, after a
// 200 ms quiet period, by a hash of the file's bytes; only a changed hash triggers a reload, so
// a touch or an unrelated file does not.
#include <functional>
#include <string>
#include <thread>

namespace switchyard {

class ConfigWatcher {
public:
    // `on_change` runs on the watcher's thread (the daemon passes "raise SIGHUP").
    ConfigWatcher(std::string path, std::function<void()> on_change);
    // Stops the watcher. Control thread.
    ~ConfigWatcher();
    ConfigWatcher(const ConfigWatcher&) = delete;
    ConfigWatcher& operator=(const ConfigWatcher&) = delete;

    // Control thread, once: starts watching; `loaded_hash` is the hash of what is running.
    // Throws std::runtime_error when inotify cannot watch the directory.
    void start(const std::string& loaded_hash);

private:
    void run(std::string last_hash);

    std::string path_;
    std::function<void()> on_change_;
    int inotify_fd_ = -1;
    int stop_fd_ = -1;  // eventfd: wakes the thread to stop
    std::thread thread_;
};

}  // namespace switchyard
