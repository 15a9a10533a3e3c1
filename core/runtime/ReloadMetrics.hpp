#pragma once
// The configuration's own metrics, plain prometheus-cpp families (they change once per reload,
// never on the data path): switchyard_config_reloads_total{result="success|failure"},
// switchyard_config_last_reload_success_timestamp_seconds, and
// switchyard_config_info{hash="…"} 1 naming the configuration file now running, and
// switchyard_config_generations_draining: configurations a reload replaced whose connections
// are still open (each is freed when its last connection ends).
#include <string>

namespace prometheus {
class Registry;
class Counter;
class Gauge;
template <typename T>
class Family;
}  // namespace prometheus

namespace switchyard {

class ReloadMetrics {
public:
    // Registers the families in `registry`, which must outlive this. Control thread.
    explicit ReloadMetrics(prometheus::Registry& registry);

    // Control thread: the configuration started with (hash of the file; "" when unknown). Sets
    // the timestamp too, as a start is the first successful load.
    void loaded(const std::string& config_hash);
    // Control thread: one reload, applied or refused.
    void reloaded(bool success, const std::string& config_hash);
    // Control thread: how many replaced configurations still have open connections.
    void draining(std::size_t generations);

private:
    prometheus::Counter* success_;
    prometheus::Counter* failure_;
    prometheus::Gauge* last_success_;
    prometheus::Gauge* draining_;
    prometheus::Family<prometheus::Gauge>* info_;
    prometheus::Gauge* info_child_ = nullptr;
};

}  // namespace switchyard
