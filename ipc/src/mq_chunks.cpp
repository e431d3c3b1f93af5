#include "mq_chunks.hpp"

#include <cstring>

namespace forkpool::ipc::detail {

std::byte* ChunkAssembler::next_buffer(std::byte* scratch) {
  direct_ = in_message_ && !broken_ && length_ - got_ >= chunk_size_;
  if (!direct_) return scratch;
  pending_.resize(got_ + chunk_size_);  // within the reservation made for length_
  return pending_.data() + got_;
}

Result<void> ChunkAssembler::usable() const {
  if (broken_) return malformed("mq_receive", "the message stream is broken by an earlier bad chunk");
  return {};
}

Result<bool> ChunkAssembler::accept(const std::byte* scratch, std::size_t n) {
  if (auto ok = usable(); !ok) return std::unexpected(ok.error());
  if (!in_message_) {
    if (n < kLengthPrefixSize) return fail(malformed("mq_receive", "first chunk without a length"));
    length_ = decode_length(scratch);
    if (length_ > max_) return fail(length_over_max("mq_receive", length_, max_));
    const std::size_t first = n - kLengthPrefixSize;
    if (first > length_) return fail(malformed("mq_receive", "chunk past the announced length"));
    pending_.clear();
    if (auto ok = reserve_for(pending_, length_, "mq_receive"); !ok) return fail(std::unexpected(ok.error()));
    pending_.resize(first);
    if (first > 0) std::memcpy(pending_.data(), scratch + kLengthPrefixSize, first);
    got_ = first;
    in_message_ = true;
  } else {
    if (n > length_ - got_) return fail(malformed("mq_receive", "chunk past the announced length"));
    if (direct_) {
      pending_.resize(got_ + n);
    } else {
      pending_.resize(got_ + n);
      if (n > 0) std::memcpy(pending_.data() + got_, scratch, n);
    }
    got_ += n;
  }
  return got_ == length_;
}

void ChunkAssembler::take(Bytes& out) {
  in_message_ = false;
  direct_ = false;
  out.swap(pending_);
  pending_.clear();
}

}  // namespace forkpool::ipc::detail
