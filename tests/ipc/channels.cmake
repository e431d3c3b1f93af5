# test_ipc_channels: the channel conformance suite over every transport, the transports'
# own tests, and the ipc core pieces they stand on.
add_executable(test_ipc_channels
  test_bounded_receive.cpp
  test_channel_conformance.cpp
  test_deadline.cpp
  test_fault_injection.cpp
  test_message_queue.cpp
  test_shared_memory.cpp
  test_shm_channel.cpp
  test_shm_ring.cpp
  test_sys_call.cpp
  test_unique_fd.cpp
)
target_link_libraries(test_ipc_channels PRIVATE forkpool::ipc forkpool_ipc_internal forkpool_test_support
  GTest::gtest_main forkpool_flags)
gtest_discover_tests(test_ipc_channels PROPERTIES TIMEOUT 120 LABELS ipc_channels)
