#include "forkpool/ipc/message_queue.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <optional>
#include <string>

#include "forkpool/ipc/shared_memory.hpp"
#include "forkpool/ipc/sys_call.hpp"

namespace forkpool::ipc {
namespace {

// Linux's defaults, for when /proc/sys/fs/mqueue cannot be read.
constexpr long kDefaultMessageSize = 8192;
constexpr long kDefaultMaxMessages = 10;
// Below this a message of a few dozen bytes would already need chunks; not worth going on.
constexpr long kSmallestMessageSize = 128;
constexpr int kNameAttempts = 8;
// RLIMIT_MSGQUEUE is one byte budget for all of a user's queues (800 KiB by default, where
// 10 messages of 8 KiB take about 82 KiB per queue: 4 channels). A queue takes at most this
// share of it, so that 16 channels (32 queues; a pool of 16 workers) fit at once with full-size
// messages; the queue depth is what gives way.
constexpr long kQueuesPerBudget = 32;
// What the kernel charges per message on top of its bytes (struct msg_msg and a tree node).
constexpr long kKernelBytesPerMessage = 96;

std::optional<long> read_proc_long(const char* path) {
  std::ifstream in(path);
  long value = 0;
  if (in >> value && value > 0) return value;
  return std::nullopt;
}

// The next smaller limits to try after the kernel refused `limits` with `code`, or nothing
// when there is nothing smaller worth trying.
std::optional<MqLimits> smaller(MqLimits limits, int code) {
  if (code == EINVAL) {
    // Over msgsize_max or msg_max (the /proc values may be unreadable or stale): shrink both.
    if (limits.max_messages <= 1 && limits.message_size <= kSmallestMessageSize) return {};
    if (limits.max_messages > 1) limits.max_messages /= 2;
    if (limits.message_size > kSmallestMessageSize) limits.message_size /= 2;
    return limits;
  }
  if (code == EMFILE || code == ENOMEM) {
    // The per-user byte budget (RLIMIT_MSGQUEUE: EMFILE) or kernel memory is short: fewer
    // slots first, since the size of one message decides how many chunks a large message
    // needs.
    if (limits.max_messages > 1) {
      limits.max_messages /= 2;
      return limits;
    }
    if (limits.message_size > kSmallestMessageSize) {
      limits.message_size /= 2;
      return limits;
    }
  }
  return {};
}

// Fewer slots than `want` where the per-user budget could not hold kQueuesPerBudget queues.
long depth_within_budget(MqLimits want) {
  rlimit budget{};
  if (!sys_call("getrlimit", "RLIMIT_MSGQUEUE", [&] { return ::getrlimit(RLIMIT_MSGQUEUE, &budget); }) ||
      budget.rlim_cur == RLIM_INFINITY)
    return want.max_messages;
  const long per_queue = static_cast<long>(budget.rlim_cur / kQueuesPerBudget);
  const long depth = per_queue / (want.message_size + kKernelBytesPerMessage);
  return std::clamp(depth, 1L, want.max_messages);
}

// mq_open's EMFILE means either of two limits: this process's descriptors (RLIMIT_NOFILE), or
// the bytes all of this user's queues may take (RLIMIT_MSGQUEUE; the kernel's
// mqueue_get_inode() reports that one as EMFILE too). True for the first: no descriptor left.
bool out_of_descriptors() {
  int fd = ::eventfd(0, EFD_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return false;
  }
  return errno == EMFILE;
}

// What a person should read for mq_open's final `code` (after every smaller try), or "".
std::string mq_open_hint(int code) {
  switch (code) {
    case EMFILE:
      return "the per-user budget for POSIX message queues is used up (" +
             rlimit_text(RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE", " bytes") +
             ", shared by all of this user's queues): try --transport shm, or raise it with "
             "ulimit -q";
    case ENOSPC:
      return "the system's limit on the number of message queues is reached "
             "(fs.mqueue.queues_max = " +
             std::to_string(read_proc_long("/proc/sys/fs/mqueue/queues_max").value_or(0)) +
             "): try --transport shm";
    case EINVAL:
      return "the system refuses even small message queues (fs.mqueue.msg_max, msgsize_max): "
             "try --transport shm";
    default:
      return limit_hint(code);
  }
}

}  // namespace

void MessageQueue::reset(mqd_t queue) noexcept {
  if (queue_ != kNone && queue_ != queue) ::mq_close(queue_);  // like close(): never retried
  queue_ = queue;
}

Result<MqLimits> MessageQueue::limits() const {
  mq_attr attr{};
  auto r = sys_call("mq_getattr", "mqd " + std::to_string(queue_),
                    [&] { return ::mq_getattr(queue_, &attr); });
  if (!r) return std::unexpected(r.error());
  return MqLimits{attr.mq_msgsize, attr.mq_maxmsg};
}

Result<UnlinkedQueue> create_unlinked_queue() {
  MqLimits want{read_proc_long("/proc/sys/fs/mqueue/msgsize_max").value_or(kDefaultMessageSize),
                read_proc_long("/proc/sys/fs/mqueue/msg_max").value_or(kDefaultMaxMessages)};
  want.max_messages = depth_within_budget(want);
  int name_attempts = 0;
  for (;;) {
    std::string name = random_object_name();
    mq_attr attr{};
    attr.mq_maxmsg = want.max_messages;
    attr.mq_msgsize = want.message_size;
    auto sender = sys_call("mq_open", name, [&] {
      return ::mq_open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NONBLOCK, 0600,
                       &attr);
    });
    if (!sender) {
      int code = sender.error().code;
      if (code == EEXIST && ++name_attempts < kNameAttempts) continue;
      // Out of descriptors, a smaller queue needs one just the same.
      const bool no_fd = code == EMFILE && out_of_descriptors();
      if (auto next = no_fd ? std::nullopt : smaller(want, code)) {
        want = *next;
        continue;
      }
      SysError e = sender.error();
      e.hint = no_fd ? limit_hint(EMFILE) : mq_open_hint(code);
      return std::unexpected(std::move(e));
    }
    UnlinkedQueue out;
    out.sender.reset(*sender);
    auto receiver = sys_call("mq_open", name, [&] {
      return ::mq_open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    });
    // Both descriptors are open (or the second failed): the name has done its job.
    ::mq_unlink(name.c_str());
    if (!receiver) return std::unexpected(receiver.error());
    out.receiver.reset(*receiver);
    auto limits = out.sender.limits();
    if (!limits) return std::unexpected(limits.error());
    out.limits = *limits;
    return out;
  }
}

Result<MqLimits> probe_mq_limits() {
  auto queue = create_unlinked_queue();
  if (!queue) return std::unexpected(queue.error());
  return queue->limits;
}

}  // namespace forkpool::ipc
