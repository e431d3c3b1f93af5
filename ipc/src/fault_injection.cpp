#include "forkpool/ipc/fault_injection.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

namespace forkpool::ipc {
namespace {

struct Rule {
  unsigned id;
  std::string call;
  int code;
  unsigned skip;   // matching calls still to let through
  unsigned times;  // matching calls still to fail after that
  unsigned hits = 0;
};

struct Rules {
  std::mutex mutex;
  std::vector<Rule> rules;
  unsigned next_id = 0;
};

Rules& rules() {
  static Rules r;
  return r;
}

}  // namespace

InjectedFault::InjectedFault(std::string call, int code, unsigned skip, unsigned times) {
  Rules& r = rules();
  std::lock_guard lock(r.mutex);
  id_ = ++r.next_id;
  r.rules.push_back(Rule{id_, std::move(call), code, skip, times});
  detail::g_faults_armed.store(true, std::memory_order_relaxed);
}

InjectedFault::~InjectedFault() {
  Rules& r = rules();
  std::lock_guard lock(r.mutex);
  std::erase_if(r.rules, [&](const Rule& rule) { return rule.id == id_; });
  detail::g_faults_armed.store(!r.rules.empty(), std::memory_order_relaxed);
}

unsigned InjectedFault::hits() const {
  Rules& r = rules();
  std::lock_guard lock(r.mutex);
  auto it = std::find_if(r.rules.begin(), r.rules.end(), [&](const Rule& rule) { return rule.id == id_; });
  return it == r.rules.end() ? 0 : it->hits;
}

namespace detail {

std::optional<int> take_injected_fault(std::string_view call) {
  Rules& r = rules();
  std::lock_guard lock(r.mutex);
  for (Rule& rule : r.rules) {
    if (rule.call != call && rule.call != "*") continue;
    if (rule.skip > 0) {
      --rule.skip;
      continue;
    }
    if (rule.times == 0) continue;
    --rule.times;
    ++rule.hits;
    return rule.code;
  }
  return std::nullopt;
}

}  // namespace detail
}  // namespace forkpool::ipc
