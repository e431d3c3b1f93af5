# add_executable(test_ipc_process ...) + gtest_discover_tests
