# Sources of the 'matmul' subcommand.
target_sources(forkpool PRIVATE
  cmd_matmul.cpp
  matmul_report.cpp
  matmul_test_hooks.cpp
)
