// Fuzzes the messages of an images batch: the recipe the coordinator sends every worker (the
// shared input; across machines under mpi) and the outcome a worker sends back for each image,
// the bytes a corrupted or hostile worker controls. The first input byte picks which. Each
// must parse or throw a std::exception (the coordinator fails that item with its message),
// never crash; what parses must come out of serialize() and parse again to the same bytes.
// Parsing only: no pixels.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <span>

#include "forkpool/images/image_job.hpp"

namespace {

template <class Message>
void round_trip(std::span<const std::byte> bytes) {
  Message message;
  try {
    message = Message::deserialize(bytes);
  } catch (const std::exception&) {
    return;
  }
  const auto once = message.serialize();
  const auto twice = Message::deserialize(once).serialize();
  if (once != twice) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace forkpool::images;
  if (size == 0) return 0;
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) round_trip<ImageRecipe>(bytes);
  else round_trip<ImageOutcome>(bytes);
  return 0;
}
