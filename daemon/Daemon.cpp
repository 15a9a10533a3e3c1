#include "daemon/Daemon.hpp"

#include <arpa/inet.h>
#include <signal.h>
#include <sys/resource.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <thread>

#include "config/ConfigLoader.hpp"
#include "core/net/Address.hpp"
#include "core/options/EndpointTransports.hpp"
#include "core/runtime/Runtime.hpp"
#include "daemon/BinaryUpgrade.hpp"
#include "daemon/CommandLine.hpp"
#include "daemon/ConfigHash.hpp"
#include "daemon/ConfigWatcher.hpp"
#include "daemon/Logging.hpp"
#include "daemon/PrivilegeDrop.hpp"
#include "daemon/SocketActivation.hpp"
#include "daemon/SystemdNotifier.hpp"

#ifndef SWITCHYARD_VERSION
#define SWITCHYARD_VERSION "0.0.0"
#endif

namespace switchyard {
namespace {

void print_errors(const std::string& file, const std::vector<ConfigError>& errors) {
    for (const auto& e : errors) std::cerr << e.format(file) << "\n";
    std::cerr << file << ": " << errors.size() << " error" << (errors.size() == 1 ? "" : "s") << "\n";
}

const char* protocol_name(ListenerProtocol p) {
    switch (p) {
        case ListenerProtocol::unix_stream: return "unix";
        case ListenerProtocol::udp: return "udp";
        default: return "tcp";
    }
}

// The listener's limits as its protocol has them.
std::string limits_text(const ListenerOptions& l) {
    if (!l.datagram()) return "max_connections " + std::to_string(l.max_connections);
    return "max_sessions " + std::to_string(l.max_sessions) + ", responses " +
           (l.responses ? std::to_string(*l.responses) : std::string("unlimited")) + ", max_datagram " +
           std::to_string(l.max_datagram);
}

// 127.0.0.0/8, ::1 and localhost: reachable from this host only.
bool is_loopback_listen(const std::string& listen) {
    auto address = parse_address(listen, nullptr, /*allow_port_zero=*/true);
    if (!address) return false;
    if (address->host == "localhost") return true;
    in_addr v4{};
    in6_addr v6{};
    if (inet_pton(AF_INET, address->host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, address->host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
    return false;
}

// "access 2 rule(s), max_connections_per_ip 4, ..." for the settings that decide who is served.
std::string admission_summary(const ListenerOptions& l) {
    std::vector<std::string> parts;
    if (!l.access.empty()) parts.push_back(fmt::format("access {} rule(s)", l.access.size()));
    if (l.max_connections_per_ip) parts.push_back(fmt::format("max_connections_per_ip {}", l.max_connections_per_ip));
    if (l.max_sessions_per_ip) parts.push_back(fmt::format("max_sessions_per_ip {}", l.max_sessions_per_ip));
    if (l.rate_limit.per_second)
        parts.push_back(fmt::format("rate_limit {} {}/s burst {}", l.datagram() ? "sessions" : "connections",
                                    l.rate_limit.per_second, l.rate_limit.burst));
    if (l.first_byte_timeout.count() > 0)
        parts.push_back(fmt::format("first_byte_timeout {} ms", l.first_byte_timeout.count()));
    if (l.proxy_protocol == ProxyProtocolMode::accept) {
        std::string sources;
        for (const auto& c : l.trusted_sources) sources += (sources.empty() ? "" : ", ") + c.to_string();
        parts.push_back(fmt::format("proxy_protocol accept from {} within {} ms",
                                    sources.empty() ? std::string("anyone") : "[" + sources + "]",
                                    l.proxy_protocol_timeout.count()));
    }
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
    return out;
}

// What is valid but most likely not what was meant: logged at start, printed by --check-config.
std::vector<std::string> config_warnings(const Options& o) {
    std::vector<std::string> out;
    for (const auto& l : o.listeners) {
        // nginx's rules: a client no rule matches is allowed, so rules that only allow keep
        // nobody out.
        if (!l.access.empty() &&
            std::none_of(l.access.begin(), l.access.end(), [](const AccessRule& r) { return r.action == AccessAction::deny; }))
            out.push_back("listener " + l.name + ": every access rule allows, and a client no rule matches is allowed "
                          "too, so the rules keep nobody out; end them with '- deny: all'");
    }
    return out;
}
void log_summary(const Runtime& rt) {
    const Options& o = rt.options();
    spdlog::info("switchyard {} starting: {} loop(s), loop_wait {}, tick {} ms, shutdown_timeout {} ms",
                 SWITCHYARD_VERSION, rt.loop_count(), o.loop_wait == LoopWait::yield ? "yield" : "block",
                 o.tick.count(), o.shutdown_timeout.count());
    for (const auto& u : o.upstreams) {
        std::string eps;
        for (const auto& e : u.endpoints)
            eps += (eps.empty() ? "" : ", ") + e.address + (e.weight != 1 ? " weight " + std::to_string(e.weight) : "");
        std::string health = u.max_fails ? fmt::format("max_fails {}, fail_timeout {} ms", u.max_fails,
                                                       u.fail_timeout.count())
                                         : std::string("max_fails 0");
        if (u.health_check)
            health += fmt::format(", health_check{} every {} ms (timeout {} ms, healthy/unhealthy threshold {}/{}{})",
                                  endpoint_transports(o, u).datagram ? " udp" : "",
                                  u.health_check->interval.count(), u.health_check->timeout.count(),
                                  u.health_check->healthy_threshold, u.health_check->unhealthy_threshold,
                                  u.health_check->expect.empty() ? "" : ", send/expect");
        spdlog::info("upstream {}: balancer {}, connect_timeout {} ms, connect_attempts {}, endpoints [{}]{}; {}, "
                     "when_all_down {}",
                     u.name, to_string(u.balancer), u.connect_timeout.count(), u.connect_attempts, eps,
                     u.codec ? ", codec " + u.codec->plugin : "", health, to_string(u.when_all_down));
    }
    auto bound = rt.listener_addresses();
    for (std::size_t i = 0; i < o.listeners.size(); ++i) {
        const auto& l = o.listeners[i];
        std::string target = l.handler == Handler::echo ? "handler echo" : "upstream " + l.upstream;
        spdlog::info("listener {} ({}) listening on {} -> {}; loop balancer {}, reuse_port {}, idle_timeout {} ms, "
                     "{}{}",
                     l.name, protocol_name(l.protocol), bound[i].second, target, to_string(l.balancer),
                     l.reuse_port ? "on" : "off", l.idle_timeout.count(), limits_text(l),
                     l.codec ? ", codec " + l.codec->plugin + ", frame_timeout " +
                                   std::to_string(l.frame_timeout.count()) + " ms"
                             : "");
    }
    for (const auto& l : o.listeners)
        if (std::string admission = admission_summary(l); !admission.empty())
            spdlog::info("listener {}: {}", l.name, admission);
    for (const auto& w : config_warnings(o)) spdlog::warn("{}", w);
    if (!rt.metrics_address().empty()) {
        spdlog::info("metrics: serving http://{}{}", rt.metrics_address(), o.metrics.path);
        if (!is_loopback_listen(o.metrics.listen))
            spdlog::warn("metrics: the admin endpoint listens on {}, beyond this host: /metrics and /healthz answer "
                         "whoever can reach it; listen on 127.0.0.1 unless a scraper elsewhere needs it, and then "
                         "keep it behind a firewall",
                         o.metrics.listen);
    }
}

// "serving 3 listener(s), 12 connection(s)": the STATUS= line systemctl status shows.
std::string status_line(const Runtime& rt) {
    return "serving " + std::to_string(rt.listener_addresses().size()) + " listener(s), " +
           std::to_string(rt.active_sessions()) + " connection(s)";
}

// SWITCHYARD_TEST_HOOKS=1 turns on hooks only the test suite uses (SIGUSR2 wedges a loop).
bool test_hooks_enabled() {
    const char* v = std::getenv("SWITCHYARD_TEST_HOOKS");
    return v != nullptr && std::string(v) == "1";
}

// SIGHUP (or watch_config): re-read and validate the file, plugins and codec options included,
// and apply it without dropping anything; a file with errors changes nothing. Either way systemd
// hears RELOADING=1 then READY=1, and the result is counted.
void reload(const CommandLine& cl, Runtime& rt, SystemdNotifier& notifier) {
    notifier.reloading("reloading " + cl.config_file);
    spdlog::info("reload: reading {}", cl.config_file);
    const std::string hash = config_file_hash(cl.config_file);
    ConfigLoadResult loaded = load_config_file(cl.config_file);
    ReloadOutcome outcome;
    if (loaded.ok()) {
        if (cl.log_level) loaded.options->log.level = *cl.log_level;
        outcome = rt.reload(*loaded.options);
    } else {
        outcome.errors = std::move(loaded.errors);
    }
    if (!outcome.applied) {
        for (const auto& e : outcome.errors) spdlog::error("reload: {}", e.format(cl.config_file));
        spdlog::error("reload refused: {} error(s) in {}; the running configuration is unchanged",
                      outcome.errors.size(), cl.config_file);
        rt.record_reload(false, hash);
        notifier.ready("reload failed (" + std::to_string(outcome.errors.size()) + " error(s)); " + status_line(rt));
        return;
    }
    for (const auto& w : outcome.warnings) spdlog::warn("reload: {}", w);
    if (auto err = configure_logging(rt.options().log); !err.empty()) spdlog::warn("reload: log: {}", err);
    auto bound = rt.listener_addresses();
    for (const auto& [name, address] : bound) spdlog::info("reload: listener {} on {}", name, address);
    for (const auto& name : outcome.removed)
        spdlog::info("reload: listener {} removed: no new connections; open ones drain for up to {} ms", name,
                     rt.options().shutdown_timeout.count());
    spdlog::info("reload applied (config hash {}): {} listener(s) kept, {} added, {} removed; open connections "
                 "keep the configuration they started with",
                 hash, outcome.listeners_kept, outcome.listeners_added, outcome.listeners_removed);
    rt.record_reload(true, hash);
    notifier.ready(status_line(rt));
    spdlog::default_logger()->flush();
}

// A proxy holds two descriptors per connection: take the whole hard limit, as HAProxy does.
void raise_open_file_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        rlim_t before = lim.rlim_cur;
        lim.rlim_cur = lim.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &lim) == 0)
            spdlog::debug("open file limit raised from {} to {}", before, lim.rlim_cur);
    }
}

int run(const CommandLine& cl, Options options, const std::vector<std::string>& args) {
    // Signals are taken synchronously by this thread. Blocked before any thread exists (the
    // logger's flusher included), so every thread inherits the mask and none dies of SIGTERM.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    sigaddset(&signals, SIGUSR2);
    if (test_hooks_enabled()) sigaddset(&signals, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    if (cl.log_level) options.log.level = *cl.log_level;
    if (auto err = configure_logging(options.log); !err.empty()) {
        std::cerr << "switchyard: " << err << "\n";
        return 1;
    }
    ::signal(SIGPIPE, SIG_IGN);
    raise_open_file_limit();

    std::vector<ConfigError> errors;
    std::unique_ptr<Runtime> rt;
    try {
        rt = Runtime::build(options, &errors);
        if (!rt) {
            print_errors(cl.config_file, errors);
            return 1;
        }
        // Sockets handed over by systemd (socket activation) or by the process this one
        // replaces (binary upgrade) are adopted by the listeners of those names.
        InheritedSockets inherited = sockets_from_systemd();
        if (inherited.empty()) inherited = BinaryUpgrade::sockets_from_previous_process();
        rt->start(std::move(inherited), [&options] { drop_privileges(options); });
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        std::cerr << "switchyard: " << e.what() << "\n";
        return 1;
    }
    log_summary(*rt);
    rt->record_start(config_file_hash(cl.config_file));
    // Watching starts before READY=1: a change made right after readiness is not missed.
    std::unique_ptr<ConfigWatcher> watcher;
    if (options.watch_config) {
        // The watcher raises SIGHUP, so a file change and `systemctl reload` take one path.
        watcher = std::make_unique<ConfigWatcher>(cl.config_file, [] { ::kill(::getpid(), SIGHUP); });
        try {
            watcher->start(config_file_hash(cl.config_file));
        } catch (const std::exception& e) {
            spdlog::error("{}; reload with SIGHUP instead", e.what());
            watcher.reset();
        }
    }

    SystemdNotifier notifier;
    if (BinaryUpgrade::started_by_upgrade()) {
        // This process replaces the unit's main process: say so before READY=1.
        notifier.main_pid();
        notifier.ready(status_line(*rt));
        BinaryUpgrade::signal_previous_process();
        spdlog::info("ready (binary upgrade: took over from the previous process)");
    } else {
        notifier.ready(status_line(*rt));
        spdlog::info("ready");
    }
    spdlog::default_logger()->flush();
    BinaryUpgrade upgrade(args);

    // The control thread wakes at least every second: free retired generations, refresh the
    // STATUS line, and ping the watchdog while every loop keeps ticking.
    const auto watchdog = notifier.watchdog_interval();
    const auto wake_every = watchdog.count() > 0
                                ? std::min<std::chrono::microseconds>(watchdog / 2, std::chrono::seconds(1))
                                : std::chrono::microseconds(std::chrono::seconds(1));
    for (;;) {
        timespec wait{static_cast<time_t>(wake_every.count() / 1'000'000),
                      static_cast<long>(wake_every.count() % 1'000'000) * 1000};
        int sig = sigtimedwait(&signals, nullptr, &wait);
        if (sig < 0) {
            rt->reap();
            notifier.status(status_line(*rt));
            // A loop that has not ticked for two tick periods (or half the watchdog interval,
            // whichever is longer) is wedged: stop the pings, and systemd restarts the service.
            if (watchdog.count() > 0) {
                auto allowed = std::max<std::chrono::steady_clock::duration>(2 * rt->options().tick, watchdog / 2);
                if (rt->loops_ticking(allowed)) {
                    notifier.watchdog();
                } else {
                    spdlog::error("watchdog: a loop has not ticked for {} ms; no WATCHDOG=1 sent",
                                  std::chrono::duration_cast<std::chrono::milliseconds>(allowed).count());
                }
            }
            continue;
        }
        if (sig == SIGHUP) {
            reload(cl, *rt, notifier);
            continue;
        }
        if (sig == SIGUSR2) {
            spdlog::info("SIGUSR2: binary upgrade");
            if (!upgrade.hand_over(rt->listening_sockets(), std::chrono::seconds(60),
                                   [&](const std::function<void()>& fork_and_exec) {
                                       rt->with_loops_paused(fork_and_exec);
                                   }))
                continue;
            // The new process is the service now: no STOPPING=1 from here (systemd would take the
            // whole service for stopping), just a quiet drain.
            rt->hand_over();
            spdlog::info("binary upgrade: draining {} open connection(s) for up to {} ms", rt->active_sessions(),
                         rt->options().shutdown_timeout.count());
            break;
        }
        if (sig == SIGUSR1 && test_hooks_enabled()) {
            // Test-only (SWITCHYARD_TEST_HOOKS=1): wedge loop 0 for 3 s, as a stuck handler would.
            rt->wedge_loop_for_test(0, std::chrono::seconds(3));
            continue;
        }
        // Stop accepting (and turn /healthz to 503) before the line that announces it, so a
        // reader of the log sees the state the line describes.
        notifier.stopping("draining " + std::to_string(rt->active_sessions()) + " connection(s)");
        rt->stop_accepting();
        spdlog::info("{}: stopping: no new connections; draining {} open connection(s) for up to {} ms",
                     sig == SIGTERM ? "SIGTERM" : "SIGINT", rt->active_sessions(),
                     rt->options().shutdown_timeout.count());
        break;
    }
    watcher.reset();
    const Options& running = rt->options();
    if (!rt->wait_drained(running.shutdown_timeout))
        spdlog::warn("shutdown_timeout reached: closing {} connection(s) still open", rt->active_sessions());
    rt->stop();
    spdlog::info("stopped");
    spdlog::default_logger()->flush();
    return 0;
}

}  // namespace

int daemon_main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::string program = argc > 0 ? argv[0] : "switchyard";
    auto parsed = parse_command_line(args);
    if (!parsed.command) {
        std::cerr << "switchyard: " << parsed.error << "\n";
        return 2;
    }
    const CommandLine& cl = *parsed.command;
    switch (cl.action) {
        case CommandLine::Action::help: std::cout << usage_text(program); return 0;
        case CommandLine::Action::version: std::cout << "switchyard " << SWITCHYARD_VERSION << "\n"; return 0;
        default: break;
    }
    ConfigLoadResult loaded = load_config_file(cl.config_file);
    if (!loaded.ok()) {
        print_errors(cl.config_file, loaded.errors);
        return 1;
    }
    if (cl.action == CommandLine::Action::check_config) {
        // Codec plugins are loaded and given their options, as a real start would.
        auto errors = Runtime::check(*loaded.options);
        if (!errors.empty()) {
            print_errors(cl.config_file, errors);
            return 1;
        }
        for (const auto& w : config_warnings(*loaded.options)) std::cerr << cl.config_file << ": warning: " << w << "\n";
        std::cout << cl.config_file << ": configuration OK\n";
        return 0;
    }
    return run(cl, std::move(*loaded.options), args);
}

}  // namespace switchyard
