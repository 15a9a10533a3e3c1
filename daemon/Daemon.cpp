#include "daemon/Daemon.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <stdexcept>

#include "config/ConfigLoader.hpp"
#include "core/runtime/Runtime.hpp"
#include "daemon/CommandLine.hpp"
#include "daemon/Logging.hpp"
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

void log_summary(const Runtime& rt) {
    const Options& o = rt.options();
    spdlog::info("switchyard {} starting: {} loop(s), loop_wait {}, tick {} ms, shutdown_timeout {} ms",
                 SWITCHYARD_VERSION, rt.loop_count(), o.loop_wait == LoopWait::yield ? "yield" : "block",
                 o.tick.count(), o.shutdown_timeout.count());
    for (const auto& u : o.upstreams) {
        std::string eps;
        for (const auto& e : u.endpoints)
            eps += (eps.empty() ? "" : ", ") + e.address + (e.weight != 1 ? " weight " + std::to_string(e.weight) : "");
        spdlog::info("upstream {}: balancer {}, connect_timeout {} ms, connect_attempts {}, endpoints [{}]{}", u.name,
                     to_string(u.balancer), u.connect_timeout.count(), u.connect_attempts, eps,
                     u.codec ? ", codec " + u.codec->plugin : "");
    }
    auto bound = rt.listener_addresses();
    for (std::size_t i = 0; i < o.listeners.size(); ++i) {
        const auto& l = o.listeners[i];
        std::string target = l.handler == Handler::echo ? "handler echo" : "upstream " + l.upstream;
        spdlog::info("listener {} ({}) listening on {} -> {}; loop balancer {}, reuse_port {}, idle_timeout {} ms, "
                     "{}{}",
                     l.name, protocol_name(l.protocol), bound[i].second, target, to_string(l.balancer),
                     l.reuse_port ? "on" : "off", l.idle_timeout.count(), limits_text(l),
                     l.codec ? ", codec " + l.codec->plugin : "");
    }
    if (!rt.metrics_address().empty())
        spdlog::info("metrics: serving http://{}{}", rt.metrics_address(), o.metrics.path);
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

int run(const CommandLine& cl, Options options) {
    // Signals are taken synchronously by this thread. Blocked before any thread exists (the
    // logger's flusher included), so every thread inherits the mask and none dies of SIGTERM.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
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
        rt->start();
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        std::cerr << "switchyard: " << e.what() << "\n";
        return 1;
    }
    log_summary(*rt);
    SystemdNotifier notifier;
    notifier.ready("serving " + std::to_string(options.listeners.size()) + " listener(s)");
    spdlog::info("ready");
    spdlog::default_logger()->flush();

    for (;;) {
        int sig = 0;
        if (sigwait(&signals, &sig) != 0) continue;
        if (sig == SIGHUP) {
            spdlog::warn("SIGHUP: configuration reload is not supported yet; restart to apply changes");
            continue;
        }
        // Stop accepting (and turn /healthz to 503) before the line that announces it, so a
        // reader of the log sees the state the line describes.
        notifier.stopping("draining");
        rt->stop_accepting();
        spdlog::info("{}: stopping: no new connections; draining {} open connection(s) for up to {} ms",
                     sig == SIGTERM ? "SIGTERM" : "SIGINT", rt->active_sessions(), options.shutdown_timeout.count());
        break;
    }
    if (!rt->wait_drained(options.shutdown_timeout))
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
        std::cout << cl.config_file << ": configuration OK\n";
        return 0;
    }
    return run(cl, std::move(*loaded.options));
}

}  // namespace switchyard
