#pragma once
// POSIX message queues: a move-only owner for mqd_t and the creation of unlinked queues.

#include <mqueue.h>

#include <utility>

#include "forkpool/ipc/sys_error.hpp"

namespace forkpool::ipc {

// What a queue holds: the largest message in bytes and how many messages fit.
struct MqLimits {
  long message_size = 0;
  long max_messages = 0;
};

// Move-only owner of one message queue descriptor; mq_close()s it on destruction. Like
// UniqueFd: one owner at a time, and after fork each process closes its own copy.
class MessageQueue {
 public:
  MessageQueue() = default;
  explicit MessageQueue(mqd_t queue) noexcept : queue_(queue) {}
  MessageQueue(MessageQueue&& other) noexcept : queue_(std::exchange(other.queue_, kNone)) {}
  MessageQueue& operator=(MessageQueue&& other) noexcept {
    if (this != &other) reset(std::exchange(other.queue_, kNone));
    return *this;
  }
  MessageQueue(const MessageQueue&) = delete;
  MessageQueue& operator=(const MessageQueue&) = delete;
  ~MessageQueue() { reset(); }

  [[nodiscard]] mqd_t get() const noexcept { return queue_; }
  [[nodiscard]] bool valid() const noexcept { return queue_ != kNone; }
  explicit operator bool() const noexcept { return valid(); }
  void reset(mqd_t queue = kNone) noexcept;

  // The queue's effective limits (mq_getattr).
  [[nodiscard]] Result<MqLimits> limits() const;

 private:
  static constexpr mqd_t kNone = static_cast<mqd_t>(-1);
  mqd_t queue_ = kNone;
};

// Both descriptors of one fresh queue whose name is already gone.
struct UnlinkedQueue {
  MessageQueue sender;    // O_WRONLY | O_NONBLOCK
  MessageQueue receiver;  // O_RDONLY | O_NONBLOCK
  MqLimits limits;        // as read back with mq_getattr
};

// Creates a queue with a random name, O_CREAT | O_EXCL, mode 0600, close-on-exec, opens it once
// per direction and unlinks the name before returning, so nothing can be left in /dev/mqueue.
// Asks for the system's largest message size (/proc/sys/fs/mqueue/msgsize_max) and as many
// messages as msg_max allows, but no more than 1/32 of the per-user RLIMIT_MSGQUEUE budget
// per queue, so that 16 channels fit at once; settles for less where the kernel refuses
// (EINVAL) or the budget is spent (EMFILE): fewer messages first, then smaller ones. When even
// the smallest does not fit, the error's hint names the limit that was reached and its value:
// the RLIMIT_MSGQUEUE budget (EMFILE with descriptors to spare), the process's descriptors
// (EMFILE, RLIMIT_NOFILE), the system's queues_max (ENOSPC). Any thread.
Result<UnlinkedQueue> create_unlinked_queue();

// The limits a fresh queue gets here (creates one and throws it away).
Result<MqLimits> probe_mq_limits();

}  // namespace forkpool::ipc
