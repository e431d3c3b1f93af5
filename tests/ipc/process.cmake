# Child processes, signal routing and the event loop.
add_executable(test_ipc_process
  test_child_process.cpp
  test_event_loop.cpp
  test_signal_catcher.cpp
)
target_link_libraries(test_ipc_process PRIVATE forkpool::ipc forkpool_test_support GTest::gtest_main
  forkpool_flags)
gtest_discover_tests(test_ipc_process PROPERTIES TIMEOUT 120)
