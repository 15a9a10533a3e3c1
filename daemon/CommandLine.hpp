#pragma once
// The daemon's command line: what to do and with which file.
#include <optional>
#include <string>
#include <vector>

namespace switchyard {

struct CommandLine {
    enum class Action { run, check_config, version, help };
    Action action = Action::run;
    std::string config_file;
    std::optional<std::string> log_level;  // --log-level overrides the file's log.level
};

struct CommandLineResult {
    std::optional<CommandLine> command;
    std::string error;  // set when command is empty
};

// Any thread. args excludes argv[0].
CommandLineResult parse_command_line(const std::vector<std::string>& args);

// The --help text.
std::string usage_text(const std::string& program);

}  // namespace switchyard
