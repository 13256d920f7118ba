// Clocks, power and temperature of one GPU through the driver's management library (NVML), loaded
// at run time so the program runs (without telemetry) where the library is missing. Lets a run
// show whether a slow number came from lower clocks under sustained load.
#pragma once

#include <optional>

#include <map>
#include <string>

namespace ringbench {

class GpuTelemetry {
 public:
  explicit GpuTelemetry(const std::string& pci_bus_id);
  ~GpuTelemetry();
  GpuTelemetry(const GpuTelemetry&) = delete;
  GpuTelemetry& operator=(const GpuTelemetry&) = delete;

  bool available() const { return device_ != nullptr; }
  std::map<std::string, double> sample() const;  // sm_clock_mhz, power_w, temperature_c
  int active_nvlinks() const;                    // -1 when unknown
  // The GPU's energy counter (joules since the driver loaded); nullopt where it has none.
  std::optional<double> energy_j() const;

 private:
  struct Api;
  Api* api_ = nullptr;
  void* device_ = nullptr;
};

}  // namespace ringbench
