// The subcommands of the ringbench executable. Each takes its arguments (after the subcommand
// name) and returns the process exit code; a ConfigError escaping one means exit code 2.
#pragma once

#include <string>
#include <vector>

#include "distributed/MpiRuntime.hpp"

namespace ringbench {

using Args = std::vector<std::string>;

int run_command(const Args& args, const MpiRuntime& rt);
int quick_command(const Args& args, const MpiRuntime& rt);
int kernels_command(const Args& args, const MpiRuntime& rt);
int report_command(const Args& args, const MpiRuntime& rt);
int export_command(const Args& args, const MpiRuntime& rt);
int compare_command(const Args& args, const MpiRuntime& rt);

// What a case would cost on a cluster (see README, "Planning").
int calibrate_command(const Args& args, const MpiRuntime& rt);
int plan_command(const Args& args, const MpiRuntime& rt);

// Sweeps and the benchmark daemon with its job queue (see README, "Daemon").
int sweep_command(const Args& args, const MpiRuntime& rt);
int daemon_command(const Args& args, const MpiRuntime& rt);
int submit_command(const Args& args, const MpiRuntime& rt);
int status_command(const Args& args, const MpiRuntime& rt);
int stop_command(const Args& args, const MpiRuntime& rt);

}  // namespace ringbench
