#include "core/runtime/ReloadMetrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace switchyard {

ReloadMetrics::ReloadMetrics(prometheus::Registry& registry) {
    auto& reloads = prometheus::BuildCounter()
                        .Name("switchyard_config_reloads_total")
                        .Help("Configuration reloads (SIGHUP or watch_config), by result: success or failure "
                              "(refused, the old configuration kept running).")
                        .Register(registry);
    success_ = &reloads.Add({{"result", "success"}});
    failure_ = &reloads.Add({{"result", "failure"}});
    last_success_ = &prometheus::BuildGauge()
                         .Name("switchyard_config_last_reload_success_timestamp_seconds")
                         .Help("When the running configuration was loaded (start or last successful "
                               "reload), in seconds since the epoch.")
                         .Register(registry)
                         .Add({});
    draining_ = &prometheus::BuildGauge()
                     .Name("switchyard_config_generations_draining")
                     .Help("Configurations replaced by a reload whose connections are still open; each "
                           "is freed when its last connection ends.")
                     .Register(registry)
                     .Add({});
    info_ = &prometheus::BuildGauge()
                 .Name("switchyard_config_info")
                 .Help("A metric with a constant '1' value labeled by the hash of the configuration file "
                       "running (FNV-1a 64 of its bytes).")
                 .Register(registry);
}

void ReloadMetrics::loaded(const std::string& config_hash) {
    last_success_->SetToCurrentTime();
    if (info_child_) info_->Remove(info_child_);
    info_child_ = &info_->Add({{"hash", config_hash}});
    info_child_->Set(1);
}

void ReloadMetrics::draining(std::size_t generations) { draining_->Set(static_cast<double>(generations)); }

void ReloadMetrics::reloaded(bool success, const std::string& config_hash) {
    if (!success) {
        failure_->Increment();
        return;
    }
    success_->Increment();
    loaded(config_hash);
}

}  // namespace switchyard
