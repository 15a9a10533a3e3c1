#pragma once
// `user:` / `group:`: a daemon started as root (to bind ports below 1024, to chown unix socket
// files) switches to an unprivileged user once every socket is bound — its own, those systemd
// passed and those a previous process handed over — and before any connection is served, as
// nginx's and HAProxy's `user` do. Supplementary groups become the user's own (initgroups),
// then the group, then the user; afterwards it checks root cannot be regained.
namespace switchyard {

struct Options;

// Control thread, before the loops start (the caller's threads follow: glibc applies set*id to
// every thread of the process). Does nothing without `user`. Not started as root: logs that the
// setting is ignored, unless already running as that user. Throws std::runtime_error naming the
// step that failed: the daemon then exits instead of running on as root.
void drop_privileges(const Options& options);

}  // namespace switchyard
