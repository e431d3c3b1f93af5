#include "forkpool/ipcbench/machine.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "forkpool/exec/executor.hpp"
#include "forkpool/ipc/message_queue.hpp"

namespace forkpool::ipcbench {
namespace {

std::string trim(std::string s) {
  auto first = s.find_first_not_of(" \t");
  auto last = s.find_last_not_of(" \t\r\n");
  return first == std::string::npos ? std::string() : s.substr(first, last - first + 1);
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    // x86 says "model name"; some arm64 kernels only give "Hardware" or "CPU part".
    if (line.rfind("model name", 0) == 0 || line.rfind("Hardware", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return trim(line.substr(colon + 1));
    }
  }
  return "unknown";
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  if (!(in >> a >> b >> c)) return "unknown";
  return a + " " + b + " " + c;
}

}  // namespace

MachineInfo describe_machine() {
  MachineInfo m;
  m.cpu_model = cpu_model();
  long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  m.cores_online = online > 0 ? static_cast<unsigned>(online) : 0;
  m.cores_available = available_cores();
  utsname u{};
  if (::uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
  else m.kernel = "unknown";
  m.load_average = load_average();
  if (auto limits = ipc::probe_mq_limits()) {
    m.mq_message_size = limits->message_size;
    m.mq_max_messages = limits->max_messages;
  } else {
    m.mq_error = limits.error().message();
  }
  return m;
}

}  // namespace forkpool::ipcbench
