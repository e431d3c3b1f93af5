#include "stream_channel.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "forkpool/ipc/sys_call.hpp"
#include "length_prefix.hpp"

namespace forkpool::ipc::detail {
namespace {

constexpr std::size_t kHeaderSize = kLengthPrefixSize;

std::string fd_name(int fd) { return "fd " + std::to_string(fd); }

// Waits until `fd` is ready for `events` or the deadline passes (ETIMEDOUT).
Result<void> wait_ready(int fd, short events, Deadline deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int timeout = deadline.poll_timeout_ms();
    auto r = sys_call("poll", [fd] { return fd_name(fd); }, [&] { return ::poll(&p, 1, timeout); });
    if (!r) return std::unexpected(r.error());
    if (*r > 0) return {};
    if (deadline.expired()) return sys_failure("poll", fd_name(fd), ETIMEDOUT);
  }
}

Result<void> set_nonblocking(int fd) {
  auto flags = sys_call("fcntl(F_GETFL)", fd_name(fd), [&] { return ::fcntl(fd, F_GETFL); });
  if (!flags) return std::unexpected(flags.error());
  auto r = sys_call("fcntl(F_SETFL)", fd_name(fd),
                    [&] { return ::fcntl(fd, F_SETFL, *flags | O_NONBLOCK); });
  if (!r) return std::unexpected(r.error());
  return {};
}

// A write to a pipe whose reader has gone raises SIGPIPE, whose default action kills the
// writer; a channel's send must fail with EPIPE instead, whatever this process decided for
// SIGPIPE (forkpool's main ignores it; a program using the library may not, and the channel
// must not decide for it). So the write runs with SIGPIPE blocked in this thread, and the
// SIGPIPE it raised (directed at this thread) is taken back before the mask is restored.
// Sockets need none of this: sendmsg takes MSG_NOSIGNAL.
ssize_t writev_without_sigpipe(int fd, const iovec* iov, int count) {
  sigset_t sigpipe, old;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &sigpipe, &old);
  ssize_t n = ::writev(fd, iov, count);
  const int saved = errno;
  if (n < 0 && saved == EPIPE) {
    const timespec now{};
    while (::sigtimedwait(&sigpipe, nullptr, &now) < 0 && errno == EINTR) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return n;
}

}  // namespace

StreamChannel::StreamChannel(UniqueFd read_fd, UniqueFd write_fd, Transport transport,
                             std::size_t max_message_bytes)
    : read_fd_(std::move(read_fd)),
      write_fd_(std::move(write_fd)),
      transport_(transport),
      max_message_bytes_(max_message_bytes),
      frame_(max_message_bytes) {}

Result<void> StreamChannel::write_all(std::span<const std::byte> header,
                                      std::span<const std::byte> body, Deadline deadline) {
  int fd = is_socket() ? read_fd_.get() : write_fd_.get();
  // One gathered write for length and payload: half the syscalls for small messages, and the
  // reader is not woken for a length whose payload is still to come.
  iovec iov[2] = {{const_cast<std::byte*>(header.data()), header.size()},
                  {const_cast<std::byte*>(body.data()), body.size()}};
  int first = 0;  // iov[first] is the first one with bytes left
  std::size_t done = 0;
  const std::size_t total = header.size() + body.size();
  auto write_some = [&] {
    if (!is_socket()) return writev_without_sigpipe(fd, iov + first, 2 - first);
    msghdr msg{};
    msg.msg_iov = iov + first;
    msg.msg_iovlen = static_cast<std::size_t>(2 - first);
    return ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  };
  while (done < total) {
    auto n = sys_call_expecting({EAGAIN}, is_socket() ? "sendmsg" : "writev",
                                [fd] { return fd_name(fd); }, write_some);
    if (!n) {
      if (done > 0) send_broken_ = true;
      return std::unexpected(n.error());
    }
    if (!*n) {  // full
      if (auto w = wait_ready(fd, POLLOUT, deadline); !w) {
        // A timeout before the first byte leaves the stream intact; anything else does not.
        if (done > 0 || w.error().code != ETIMEDOUT) send_broken_ = true;
        return std::unexpected(w.error());
      }
      continue;
    }
    done += static_cast<std::size_t>(**n);
    auto left = static_cast<std::size_t>(**n);
    while (first < 2 && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      ++first;
    }
    if (first < 2) {
      iov[first].iov_base = static_cast<std::byte*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return {};
}

Result<void> StreamChannel::send(std::span<const std::byte> message, Deadline deadline) {
  if (send_broken_) return sys_failure("send", "broken channel", EPIPE);
  if (message.size() > max_message_bytes_)
    return message_too_large("send", message.size(), max_message_bytes_);
  std::byte header[kHeaderSize];
  encode_length(message.size(), header);
  return write_all(header, message, deadline);
}

Result<bool> StreamChannel::read_into(std::byte* buf, std::size_t size, std::size_t& got,
                                      Deadline deadline, bool eof_ok) {
  int fd = read_fd_.get();
  while (got < size) {
    auto n = sys_call_expecting({EAGAIN}, "read", [fd] { return fd_name(fd); },
                                [&] { return ::read(fd, buf + got, size - got); });
    if (!n) {
      if (n.error().code == ECONNRESET && eof_ok && got == 0) return false;
      return std::unexpected(n.error());
    }
    if (!*n) {  // nothing to read yet
      if (auto w = wait_ready(fd, POLLIN, deadline); !w) return std::unexpected(w.error());
      continue;
    }
    if (**n == 0) {
      if (eof_ok && got == 0) return false;
      return sys_failure("read", fd_name(fd) + ", peer closed mid-message", ECONNRESET);
    }
    got += static_cast<std::size_t>(**n);
  }
  return true;
}

Result<bool> StreamChannel::receive(Bytes& out, Deadline deadline) {
  return frame_.receive(out, [&](std::byte* buf, std::size_t size, std::size_t& got, bool eof_ok) {
    return read_into(buf, size, got, deadline, eof_ok);
  });
}

Result<ChannelPair> make_pipe_pair(const ChannelOptions& options) {
  int ab[2], ba[2];
  if (auto r = sys_call("pipe2", "", [&] { return ::pipe2(ab, O_CLOEXEC | O_NONBLOCK); }); !r)
    return std::unexpected(r.error());
  UniqueFd ab_read(ab[0]), ab_write(ab[1]);
  if (auto r = sys_call("pipe2", "", [&] { return ::pipe2(ba, O_CLOEXEC | O_NONBLOCK); }); !r)
    return std::unexpected(r.error());
  UniqueFd ba_read(ba[0]), ba_write(ba[1]);
  // Bigger pipe buffers cut the number of wake-ups for large messages; best effort only.
  constexpr int kPipeBytes = 1 << 20;
  ::fcntl(ab[1], F_SETPIPE_SZ, kPipeBytes);
  ::fcntl(ba[1], F_SETPIPE_SZ, kPipeBytes);
  return ChannelPair{
      std::make_unique<StreamChannel>(std::move(ba_read), std::move(ab_write), Transport::pipe, options.max_message_bytes),
      std::make_unique<StreamChannel>(std::move(ab_read), std::move(ba_write), Transport::pipe, options.max_message_bytes)};
}

Result<ChannelPair> make_unix_pair(const ChannelOptions& options) {
  int sv[2];
  auto r = sys_call("socketpair", "AF_UNIX", [&] {
    return ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv);
  });
  if (!r) return std::unexpected(r.error());
  UniqueFd a(sv[0]), b(sv[1]);
  return ChannelPair{
      std::make_unique<StreamChannel>(std::move(a), UniqueFd{}, Transport::unix_socket, options.max_message_bytes),
      std::make_unique<StreamChannel>(std::move(b), UniqueFd{}, Transport::unix_socket, options.max_message_bytes)};
}

Result<ChannelPair> make_tcp_pair(const ChannelOptions& options) {
  auto listener = sys_call("socket", "AF_INET", [] {
    return ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  });
  if (!listener) return std::unexpected(listener.error());
  UniqueFd listen_fd(*listener);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;  // the kernel picks a free port
  socklen_t len = sizeof addr;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if (auto r = sys_call("bind", "127.0.0.1:0", [&] { return ::bind(*listener, sa, len); }); !r)
    return std::unexpected(r.error());
  if (auto r = sys_call("listen", "127.0.0.1", [&] { return ::listen(*listener, 1); }); !r)
    return std::unexpected(r.error());
  if (auto r = sys_call("getsockname", "127.0.0.1",
                        [&] { return ::getsockname(*listener, sa, &len); });
      !r)
    return std::unexpected(r.error());

  auto client = sys_call("socket", "AF_INET", [] {
    return ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  });
  if (!client) return std::unexpected(client.error());
  UniqueFd client_fd(*client);
  std::string where = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  // A blocking connect on loopback completes against the listen backlog at once.
  if (auto r = sys_call("connect", where, [&] { return ::connect(*client, sa, len); }); !r)
    return std::unexpected(r.error());
  auto server = sys_call("accept4", where, [&] {
    return ::accept4(*listener, nullptr, nullptr, SOCK_CLOEXEC);
  });
  if (!server) return std::unexpected(server.error());
  UniqueFd server_fd(*server);

  for (int fd : {client_fd.get(), server_fd.get()}) {
    int one = 1;
    if (auto r = sys_call("setsockopt(TCP_NODELAY)", where, [&] {
          return ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        });
        !r)
      return std::unexpected(r.error());
    if (auto r = set_nonblocking(fd); !r) return std::unexpected(r.error());
  }
  return ChannelPair{
      std::make_unique<StreamChannel>(std::move(client_fd), UniqueFd{}, Transport::tcp, options.max_message_bytes),
      std::make_unique<StreamChannel>(std::move(server_fd), UniqueFd{}, Transport::tcp, options.max_message_bytes)};
}

}  // namespace forkpool::ipc::detail
