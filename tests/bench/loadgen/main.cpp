// switchyard-loadgen: the benchmark load generator (client modes) and echo server (--server).
#include <cstdio>

#include "tests/bench/loadgen/EchoServer.hpp"
#include "tests/bench/loadgen/LoadRunner.hpp"
#include "tests/bench/loadgen/LoadgenOptions.hpp"
#include "tests/bench/loadgen/RunReport.hpp"

int main(int argc, char** argv) {
    using namespace switchyard::loadgen;
    const ParsedOptions parsed = parse_loadgen_options(argc, argv);
    if (parsed.help) {
        std::fputs(loadgen_usage().c_str(), stdout);
        return 0;
    }
    if (!parsed.error.empty()) {
        std::fprintf(stderr, "switchyard-loadgen: %s\n", parsed.error.c_str());
        return 2;
    }
    const LoadgenOptions& options = parsed.options;
    if (options.mode == RunMode::server) return EchoServer(options).run();

    const RunResult result = run_load(options);
    std::printf("%s\n", summary_json(options, result).c_str());
    std::fflush(stdout);
    std::fprintf(stderr, "%s\n", summary_line(options, result).c_str());
    // 0: clean run; 1: some error was counted (the summary says which).
    return result.stats.errors() == 0 ? 0 : 1;
}
