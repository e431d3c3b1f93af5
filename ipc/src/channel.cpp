#include "forkpool/ipc/channel.hpp"

#include <cerrno>

#include "mq_channel.hpp"
#include "shm_channel.hpp"
#include "stream_channel.hpp"

namespace forkpool::ipc {

std::string_view to_string(Transport t) noexcept {
  switch (t) {
    case Transport::pipe: return "pipe";
    case Transport::unix_socket: return "unix";
    case Transport::tcp: return "tcp";
    case Transport::mq: return "mq";
    case Transport::shm: return "shm";
  }
  return "?";
}

std::optional<Transport> parse_transport(std::string_view name) noexcept {
  for (Transport t : kAllTransports)
    if (to_string(t) == name) return t;
  return std::nullopt;
}

Result<ChannelPair> make_channel_pair(Transport transport, const ChannelOptions& options) {
  switch (transport) {
    case Transport::pipe: return detail::make_pipe_pair(options);
    case Transport::unix_socket: return detail::make_unix_pair(options);
    case Transport::tcp: return detail::make_tcp_pair(options);
    case Transport::mq: return detail::make_mq_pair(options);
    case Transport::shm: return detail::make_shm_pair(options);
  }
  return sys_failure("make_channel_pair", std::string(to_string(transport)), ENOSYS);
}

}  // namespace forkpool::ipc
