#include "apps/StopSignals.hpp"

#include <csignal>
#include <initializer_list>

namespace ringbench {

namespace {

volatile std::sig_atomic_t g_signal = 0;

extern "C" void record_stop_signal(int sig) {
  if (g_signal == 0) g_signal = sig;
}

}  // namespace

void install_stop_signals() {
  struct sigaction action {};
  action.sa_handler = record_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART | SA_RESETHAND;  // the second signal takes the default action
  for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaction(sig, &action, nullptr);
}

int stop_signal() {
  return g_signal;
}

}  // namespace ringbench
