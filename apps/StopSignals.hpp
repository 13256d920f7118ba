// Stop requests by signal, for the daemon: SIGTERM (Slurm at the time limit, --signal=TERM@60),
// SIGINT, and SIGUSR1 (mpirun forwards USR1 to every rank as it is, while on SIGTERM it kills the
// ranks a moment later). The handler only records the signal; the daemon acts on it at the next
// case boundary, where all ranks agree. It then falls back to the default action, so a second
// signal ends the process at once (what was in running/ is put back when a daemon starts again).
#pragma once

namespace ringbench {

void install_stop_signals();

// The first stop signal received (0: none).
int stop_signal();

}  // namespace ringbench
