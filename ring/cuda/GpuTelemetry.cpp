#include "ring/cuda/GpuTelemetry.hpp"

#include <dlfcn.h>

namespace ringbench {

// The few NVML entry points used, declared here: the toolkit ships no nvml.h everywhere, and the
// C ABI of these calls is stable. All return 0 (NVML_SUCCESS) on success.
struct GpuTelemetry::Api {
  void* library = nullptr;
  int (*init)() = nullptr;
  int (*shutdown)() = nullptr;
  int (*by_bus_id)(const char*, void**) = nullptr;
  int (*clock)(void*, int, unsigned*) = nullptr;
  int (*power)(void*, unsigned*) = nullptr;
  int (*temperature)(void*, int, unsigned*) = nullptr;
  int (*nvlink_state)(void*, unsigned, int*) = nullptr;
  int (*energy)(void*, unsigned long long*) = nullptr;  // optional: Volta and later

  template <typename F>
  bool load(F& f, const char* name) {
    f = reinterpret_cast<F>(dlsym(library, name));
    return f != nullptr;
  }
};

namespace {
constexpr int kClockSm = 1;           // NVML_CLOCK_SM
constexpr int kTemperatureGpu = 0;    // NVML_TEMPERATURE_GPU
constexpr unsigned kMaxNvLinks = 18;  // NVML_NVLINK_MAX_LINKS
}  // namespace

GpuTelemetry::GpuTelemetry(const std::string& pci_bus_id) {
  auto* api = new Api;
  api->library = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  const bool ok = api->library && api->load(api->init, "nvmlInit_v2") &&
                  api->load(api->shutdown, "nvmlShutdown") &&
                  api->load(api->by_bus_id, "nvmlDeviceGetHandleByPciBusId_v2") &&
                  api->load(api->clock, "nvmlDeviceGetClockInfo") &&
                  api->load(api->power, "nvmlDeviceGetPowerUsage") &&
                  api->load(api->temperature, "nvmlDeviceGetTemperature") &&
                  api->load(api->nvlink_state, "nvmlDeviceGetNvLinkState") && api->init() == 0;
  if (!ok) {
    if (api->library) dlclose(api->library);
    delete api;
    return;
  }
  api->load(api->energy, "nvmlDeviceGetTotalEnergyConsumption");
  api_ = api;
  if (api_->by_bus_id(pci_bus_id.c_str(), &device_) != 0) device_ = nullptr;
}

GpuTelemetry::~GpuTelemetry() {
  if (!api_) return;
  api_->shutdown();
  dlclose(api_->library);
  delete api_;
}

std::map<std::string, double> GpuTelemetry::sample() const {
  std::map<std::string, double> out;
  if (!device_) return out;
  unsigned value = 0;
  if (api_->clock(device_, kClockSm, &value) == 0) out["sm_clock_mhz"] = value;
  if (api_->power(device_, &value) == 0) out["power_w"] = value / 1000.0;
  if (api_->temperature(device_, kTemperatureGpu, &value) == 0) out["temperature_c"] = value;
  return out;
}

std::optional<double> GpuTelemetry::energy_j() const {
  unsigned long long millijoules = 0;
  if (!device_ || !api_->energy || api_->energy(device_, &millijoules) != 0) return std::nullopt;
  return static_cast<double>(millijoules) * 1e-3;
}

int GpuTelemetry::active_nvlinks() const {
  if (!device_) return -1;
  int active = 0;
  for (unsigned link = 0; link < kMaxNvLinks; ++link) {
    int state = 0;
    if (api_->nvlink_state(device_, link, &state) == 0 && state == 1) ++active;
  }
  return active;
}

}  // namespace ringbench
