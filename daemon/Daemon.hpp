#pragma once
// The daemon's life: parse the command line, load and check the config, build and start the
// runtime, wait for a signal, drain, exit. Kept apart from main() so tests can drive it.
namespace switchyard {

// Returns the process exit code. Call from main() only (it blocks signals process-wide).
int daemon_main(int argc, char** argv);

}  // namespace switchyard
