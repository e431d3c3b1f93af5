# Sources of the 'ipc-bench' subcommand.
target_sources(forkpool PRIVATE
  cmd_ipc_bench.cpp
  ipc_bench_format.cpp
  ipc_bench_json.cpp
  ipc_bench_plot.cpp
  ipc_bench_table.cpp
)
