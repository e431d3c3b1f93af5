#include "length_prefix.hpp"

#include <cerrno>
#include <new>
#include <stdexcept>

namespace forkpool::ipc::detail {

std::unexpected<SysError> message_too_large(std::string_view call, std::size_t size, std::size_t max) {
  return sys_failure(std::string(call),
                     "message of " + std::to_string(size) + " bytes, over the channel's maximum of " +
                         std::to_string(max),
                     EMSGSIZE);
}

std::unexpected<SysError> malformed(std::string_view call, std::string what) {
  return sys_failure(std::string(call), std::move(what), EBADMSG);
}

std::unexpected<SysError> length_over_max(std::string_view call, std::uint64_t length, std::size_t max) {
  return malformed(call, "the peer announced a message of " + std::to_string(length) +
                             " bytes, over the channel's maximum of " + std::to_string(max));
}

Result<void> reserve_for(Bytes& buf, std::uint64_t length, std::string_view call) {
  try {
    buf.reserve(static_cast<std::size_t>(length));
  } catch (const std::bad_alloc&) {
    return sys_failure(std::string(call), "room for a message of " + std::to_string(length) + " bytes",
                       ENOMEM);
  } catch (const std::length_error&) {
    return sys_failure(std::string(call), "room for a message of " + std::to_string(length) + " bytes",
                       ENOMEM);
  }
  return {};
}

}  // namespace forkpool::ipc::detail
