#include "daemon/Daemon.hpp"

int main(int argc, char** argv) { return switchyard::daemon_main(argc, argv); }
