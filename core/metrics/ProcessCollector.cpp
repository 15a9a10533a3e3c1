#include "core/metrics/ProcessCollector.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <prometheus/client_metric.h>


namespace switchyard::metrics {

namespace {

struct ProcStat {
    double cpu_seconds = 0;
    double start_ticks = 0;  // clock ticks since boot
    double virtual_bytes = 0;
    double resident_bytes = 0;
};

std::optional<ProcStat> read_proc_stat() {
    std::ifstream file("/proc/self/stat");
    std::string line;
    if (!std::getline(file, line)) return std::nullopt;
    // The command name (field 2) is in parentheses and may itself hold spaces and ')': the
    // fields we want come after the last ')'.
    auto close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(line.substr(close + 1));
    std::vector<std::string> fields;  // fields[0] is field 3 (state)
    for (std::string field; rest >> field;) fields.push_back(std::move(field));
    if (fields.size() < 22) return std::nullopt;
    auto number = [&](std::size_t field_number) {
        double value = 0;
        const std::string& text = fields[field_number - 3];
        std::from_chars(text.data(), text.data() + text.size(), value);
        return value;
    };
    const double ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page_bytes = static_cast<double>(sysconf(_SC_PAGESIZE));
    ProcStat stat;
    stat.cpu_seconds = (number(14) + number(15)) / ticks_per_second;  // utime + stime
    stat.start_ticks = number(22) / ticks_per_second;
    stat.virtual_bytes = number(23);
    stat.resident_bytes = number(24) * page_bytes;
    return stat;
}

std::optional<double> read_boot_time_seconds() {
    std::ifstream file("/proc/stat");
    for (std::string key; file >> key;) {
        if (key == "btime") {
            double seconds = 0;
            if (file >> seconds) return seconds;
            return std::nullopt;
        }
        file.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return std::nullopt;
}

std::optional<double> count_open_fds() {
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) return std::nullopt;
    double count = 0;
    while (dirent* entry = readdir(dir)) {
        if (entry->d_name[0] != '.') ++count;
    }
    closedir(dir);
    return count - 1;  // not counting the descriptor that listed the directory
}

prometheus::MetricFamily single(const char* name, const char* help, prometheus::MetricType type,
                                double value) {
    prometheus::ClientMetric sample;
    if (type == prometheus::MetricType::Counter) {
        sample.counter.value = value;
    } else {
        sample.gauge.value = value;
    }
    return {name, help, type, {sample}};
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> out;
    if (auto stat = read_proc_stat()) {
        out.push_back(single("process_cpu_seconds_total",
                             "Total user and system CPU time spent in seconds.", MetricType::Counter,
                             stat->cpu_seconds));
        out.push_back(single("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                             MetricType::Gauge, stat->virtual_bytes));
        out.push_back(single("process_resident_memory_bytes", "Resident memory size in bytes.",
                             MetricType::Gauge, stat->resident_bytes));
        if (auto boot = read_boot_time_seconds()) {
            out.push_back(single("process_start_time_seconds",
                                 "Start time of the process since unix epoch in seconds.",
                                 MetricType::Gauge, *boot + stat->start_ticks));
        }
    }
    if (auto open_fds = count_open_fds()) {
        out.push_back(single("process_open_fds", "Number of open file descriptors.",
                             MetricType::Gauge, *open_fds));
    }
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        out.push_back(single("process_max_fds", "Maximum number of open file descriptors.",
                             MetricType::Gauge,
                             limit.rlim_cur == RLIM_INFINITY
                                 ? std::numeric_limits<double>::infinity()
                                 : static_cast<double>(limit.rlim_cur)));
    }
    return out;
}

}  // namespace switchyard::metrics
