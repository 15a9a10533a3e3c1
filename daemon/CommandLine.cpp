#include "daemon/CommandLine.hpp"

namespace switchyard {

CommandLineResult parse_command_line(const std::vector<std::string>& args) {
    CommandLine cl;
    bool have_config = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&](const std::string& name) -> std::optional<std::string> {
            auto eq = a.find('=');
            if (eq != std::string::npos) return a.substr(eq + 1);
            if (i + 1 < args.size()) return args[++i];
            (void)name;
            return std::nullopt;
        };
        auto is = [&](const char* long_name, const char* short_name = nullptr) {
            std::string l(long_name);
            return a == l || a.rfind(l + "=", 0) == 0 || (short_name && a == short_name);
        };
        if (is("--help", "-h")) {
            cl.action = CommandLine::Action::help;
        } else if (is("--version", "-V")) {
            cl.action = CommandLine::Action::version;
        } else if (is("--check-config", "-t") && a.find('=') == std::string::npos &&
                   (i + 1 == args.size() || args[i + 1].rfind('-', 0) == 0)) {
            // Without a FILE of its own it checks the --config file, as `nginx -t -c FILE` does.
            cl.action = CommandLine::Action::check_config;
        } else if (is("--config", "-c") || is("--check-config", "-t")) {
            bool check = is("--check-config", "-t");
            auto v = value(a);
            if (!v || v->empty()) return {std::nullopt, a + " needs a FILE"};
            cl.config_file = *v;
            have_config = true;
            if (check) cl.action = CommandLine::Action::check_config;
        } else if (is("--log-level")) {
            auto v = value(a);
            if (!v) return {std::nullopt, "--log-level needs a LEVEL"};
            cl.log_level = *v;
        } else {
            return {std::nullopt, "unknown argument '" + a + "' (see --help)"};
        }
    }
    if ((cl.action == CommandLine::Action::run || cl.action == CommandLine::Action::check_config) && !have_config)
        return {std::nullopt, "no configuration file: use --config FILE (see --help)"};
    return {cl, {}};
}

std::string usage_text(const std::string& program) {
    // "  or:" continuation lines, as GNU tools write them: help2man turns all three forms into
    // the man page's SYNOPSIS.
    return "Usage: " + program + R"( --config FILE [--log-level LEVEL]
  or:  )" + program + R"( --check-config FILE
  or:  )" + program + R"( --version | --help

Switchyard: a TCP, UDP and Unix-socket proxy daemon with multi-reactor event loops, load balancing
and codec plugins.

  -c, --config FILE        run with the YAML configuration FILE
  -t, --check-config [FILE]
                           validate FILE, or without one the --config file (-t -c FILE,
                           as nginx), for schema, references and codec plugins, and exit:
                           prints "configuration OK" (exit 0) or every error (exit 1);
                           opens no socket
      --log-level LEVEL    override log.level (trace, debug, info, warn, error, critical, off)
  -V, --version            print the version and exit
  -h, --help               print this help and exit

Signals: SIGTERM/SIGINT stop accepting, drain open connections for up to shutdown_timeout,
then exit 0. SIGHUP reloads the configuration file (one with errors is refused and the running
configuration kept). SIGUSR2 starts the binary on disk and hands it the listening sockets
(binary upgrade); this process then drains and exits.
)";
}

}  // namespace switchyard
