#include "forkpool/ipcbench/payload.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace forkpool::ipcbench {
namespace {

std::vector<std::byte> filled(std::size_t size, std::uint64_t seq, Direction d) {
  std::vector<std::byte> v(size);
  fill_payload(v, seq, d);
  return v;
}

TEST(Payload, WhatIsFilledChecksOutAtEverySize) {
  for (std::size_t size : {1u, 7u, 8u, 9u, 15u, 16u, 17u, 63u, 64u, 4099u, 65536u}) {
    auto v = filled(size, 42, Direction::request);
    EXPECT_EQ(check_payload(v, 42, Direction::request), std::nullopt) << size;
  }
}

TEST(Payload, EveryCorruptedByteIsFoundWhereItIs) {
  const std::size_t size = 77;  // several words and a tail
  for (std::size_t i = 0; i < size; ++i) {
    auto v = filled(size, 7, Direction::reply);
    v[i] ^= std::byte{0x01};
    EXPECT_EQ(check_payload(v, 7, Direction::reply), i);
  }
}

TEST(Payload, AnotherMessageOrDirectionDoesNotCheckOut) {
  auto v = filled(256, 5, Direction::request);
  EXPECT_EQ(check_payload(v, 6, Direction::request), 0u);
  EXPECT_EQ(check_payload(v, 4, Direction::request), 0u);
  EXPECT_EQ(check_payload(v, 5, Direction::reply), 0u);
}

TEST(Payload, ShiftedOrZeroedDataDoesNotCheckOut) {
  auto v = filled(256, 9, Direction::request);
  auto shifted = v;
  std::copy(v.begin() + 8, v.end(), shifted.begin());  // the stream lost one word
  EXPECT_TRUE(check_payload(shifted, 9, Direction::request).has_value());
  std::vector<std::byte> zeros(256);
  EXPECT_TRUE(check_payload(zeros, 9, Direction::request).has_value());
  auto tail = v;
  tail[200] = v[200] == std::byte{0} ? std::byte{1} : std::byte{0};
  EXPECT_EQ(check_payload(tail, 9, Direction::request), 200u);
}

}  // namespace
}  // namespace forkpool::ipcbench
