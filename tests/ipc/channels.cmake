# add_executable(test_ipc_channels ...) + gtest_discover_tests
