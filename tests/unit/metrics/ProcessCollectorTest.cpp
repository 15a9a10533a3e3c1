#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "core/metrics/ProcessCollector.hpp"
#include <prometheus/text_serializer.h>

using namespace switchyard::metrics;

namespace {

double sample_value(const std::string& text, const std::string& name) {
    auto at = text.find("\n" + name + " ");
    REQUIRE(at != std::string::npos);
    return std::stod(text.substr(at + name.size() + 2));
}

std::string collect() { return prometheus::TextSerializer().Serialize(ProcessCollector{}.Collect()); }

}  // namespace

TEST_CASE("the process collector reports this process from /proc/self") {
    const std::string text = collect();
    CHECK(text.find("# TYPE process_cpu_seconds_total counter\n") != std::string::npos);
    CHECK(text.find("# TYPE process_resident_memory_bytes gauge\n") != std::string::npos);
    CHECK(sample_value(text, "process_cpu_seconds_total") >= 0);
    CHECK(sample_value(text, "process_resident_memory_bytes") > 1024 * 1024);
    CHECK(sample_value(text, "process_virtual_memory_bytes") >=
          sample_value(text, "process_resident_memory_bytes"));
    CHECK(sample_value(text, "process_max_fds") >= 3);

    const double now = std::chrono::duration<double>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    const double start = sample_value(text, "process_start_time_seconds");
    CHECK(start <= now + 1);
    CHECK(start > now - 3600);  // this test process started within the hour
}

TEST_CASE("process_open_fds follows descriptors opened and closed") {
    const double before = sample_value(collect(), "process_open_fds");
    int fd = ::open("/dev/null", O_RDONLY);
    REQUIRE(fd >= 0);
    const double during = sample_value(collect(), "process_open_fds");
    ::close(fd);
    const double after = sample_value(collect(), "process_open_fds");
    CHECK(during == before + 1);
    CHECK(after == before);
}
