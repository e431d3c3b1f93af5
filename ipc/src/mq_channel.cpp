#include "mq_channel.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "forkpool/ipc/sys_call.hpp"
#include "length_prefix.hpp"

namespace forkpool::ipc::detail {
namespace {

std::string queue_name(const MessageQueue& q) { return "mqd " + std::to_string(q.get()); }

}  // namespace

Result<std::unique_ptr<MqChannel>> MqChannel::create(MessageQueue send_q, long send_size,
                                                     MessageQueue recv_q, long recv_size,
                                                     PeerLink link, std::size_t max_message_bytes) {
  // The first chunk must hold the length and at least one byte of payload.
  if (send_size <= static_cast<long>(kLengthPrefixSize) ||
      recv_size <= static_cast<long>(kLengthPrefixSize))
    return sys_failure("mq_getattr", "mq_msgsize too small for a length prefix", EMSGSIZE);
  auto epoll = make_wait_epoll(recv_q.get(), link);
  if (!epoll) return std::unexpected(epoll.error());
  std::unique_ptr<MqChannel> ch(new MqChannel(static_cast<std::size_t>(recv_size), max_message_bytes));
  ch->max_message_bytes_ = max_message_bytes;
  ch->send_q_ = std::move(send_q);
  ch->recv_q_ = std::move(recv_q);
  ch->send_size_ = static_cast<std::size_t>(send_size);
  ch->recv_size_ = static_cast<std::size_t>(recv_size);
  ch->link_ = std::move(link);
  ch->wait_epoll_ = std::move(*epoll);
  ch->send_scratch_.resize(ch->send_size_);
  ch->recv_scratch_.resize(ch->recv_size_);
  return ch;
}

Result<void> MqChannel::send_chunk(const std::byte* data, std::size_t size, Deadline deadline) {
  const char* bytes = reinterpret_cast<const char*>(data);
  for (;;) {
    auto sent = sys_call_expecting({EAGAIN}, "mq_send", [&] { return queue_name(send_q_); },
                                   [&] { return ::mq_send(send_q_.get(), bytes, size, 0); });
    if (!sent) return std::unexpected(sent.error());
    if (*sent) return {};
    // The queue is full.
    auto w = wait_or_peer_gone(send_q_.get(), POLLOUT, link_, deadline);
    if (!w) return std::unexpected(w.error());
    if (*w == WaitOutcome::peer_gone)
      return sys_failure("mq_send", queue_name(send_q_) + ", peer gone", EPIPE);
  }
}

Result<void> MqChannel::send(std::span<const std::byte> message, Deadline deadline) {
  if (send_broken_) return sys_failure("mq_send", "broken channel", EPIPE);
  if (message.size() > max_message_bytes_)
    return message_too_large("mq_send", message.size(), max_message_bytes_);
  std::size_t first = std::min(message.size(), send_size_ - kLengthPrefixSize);
  encode_length(message.size(), send_scratch_.data());
  if (first > 0) std::memcpy(send_scratch_.data() + kLengthPrefixSize, message.data(), first);
  // Nothing is in the queue yet if the first chunk fails: the channel stays usable.
  if (auto r = send_chunk(send_scratch_.data(), kLengthPrefixSize + first, deadline); !r) return r;
  for (std::size_t done = first; done < message.size();) {
    std::size_t n = std::min(message.size() - done, send_size_);
    if (auto r = send_chunk(message.data() + done, n, deadline); !r) {
      send_broken_ = true;
      return r;
    }
    done += n;
  }
  return {};
}

Result<std::optional<std::size_t>> MqChannel::receive_chunk(std::byte* buf, Deadline deadline) {
  bool peer_gone = false;
  for (;;) {
    auto n = sys_call_expecting({EAGAIN}, "mq_receive", [&] { return queue_name(recv_q_); }, [&] {
      return ::mq_receive(recv_q_.get(), reinterpret_cast<char*>(buf), recv_size_, nullptr);
    });
    if (!n) return std::unexpected(n.error());
    if (*n) return static_cast<std::size_t>(**n);
    // The queue is empty. Everything the peer sent before it went is in the queue: empty now
    // means the end.
    if (peer_gone) return std::optional<std::size_t>{};
    auto w = wait_or_peer_gone(recv_q_.get(), POLLIN, link_, deadline);
    if (!w) return std::unexpected(w.error());
    peer_gone = *w == WaitOutcome::peer_gone;
  }
}

Result<bool> MqChannel::receive(Bytes& out, Deadline deadline) {
  if (auto ok = assembler_.usable(); !ok) return std::unexpected(ok.error());
  for (;;) {
    const bool first = !assembler_.in_message();
    // mq_receive needs room for a whole queue message: the assembler hands out room in the
    // message itself while that much is left, recv_scratch_ for the first chunk and the tail.
    std::byte* buf = assembler_.next_buffer(recv_scratch_.data());
    auto n = receive_chunk(buf, deadline);
    if (!n) return std::unexpected(n.error());
    if (!*n) {
      if (first) return false;
      return sys_failure("mq_receive", queue_name(recv_q_) + ", peer gone mid-message", ECONNRESET);
    }
    auto whole = assembler_.accept(recv_scratch_.data(), **n);
    if (!whole) return std::unexpected(whole.error());
    if (*whole) {
      assembler_.take(out);
      return true;
    }
  }
}

Result<ChannelPair> make_mq_pair(const ChannelOptions& options) {
  auto a_to_b = create_unlinked_queue();
  if (!a_to_b) return std::unexpected(a_to_b.error());
  auto b_to_a = create_unlinked_queue();
  if (!b_to_a) return std::unexpected(b_to_a.error());
  auto links = PeerLink::make_pair();
  if (!links) return std::unexpected(links.error());
  auto first = MqChannel::create(std::move(a_to_b->sender), a_to_b->limits.message_size,
                                 std::move(b_to_a->receiver), b_to_a->limits.message_size,
                                 std::move(links->first), options.max_message_bytes);
  if (!first) return std::unexpected(first.error());
  auto second = MqChannel::create(std::move(b_to_a->sender), b_to_a->limits.message_size,
                                  std::move(a_to_b->receiver), a_to_b->limits.message_size,
                                  std::move(links->second), options.max_message_bytes);
  if (!second) return std::unexpected(second.error());
  return ChannelPair{std::move(*first), std::move(*second)};
}

}  // namespace forkpool::ipc::detail
