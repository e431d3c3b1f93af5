#pragma once
// What a benchmark ran on, for its report.

#include <string>

namespace forkpool::ipcbench {

struct MachineInfo {
  std::string cpu_model;        // /proc/cpuinfo "model name" (or "unknown")
  unsigned cores_online = 0;    // sysconf(_SC_NPROCESSORS_ONLN)
  unsigned cores_available = 0; // sched_getaffinity of this process
  std::string kernel;           // uname: "Linux 6.1.0-18-amd64 x86_64"
  std::string load_average;     // /proc/loadavg's first three fields, when the run started
  long mq_message_size = 0;     // what a fresh POSIX message queue gets (mq_getattr)
  long mq_max_messages = 0;
  std::string mq_error;         // why the limits are unknown, when they are 0
};

// Reads the above. Never throws; fields it cannot read say so. Any thread.
MachineInfo describe_machine();

}  // namespace forkpool::ipcbench
