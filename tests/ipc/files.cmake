# Output files: the one writer, and the removal of stale temporaries.
add_executable(test_ipc_files
  test_output_file.cpp
)
target_link_libraries(test_ipc_files PRIVATE forkpool::ipc forkpool_test_support GTest::gtest_main
  forkpool_flags)
gtest_discover_tests(test_ipc_files PROPERTIES TIMEOUT 120)
