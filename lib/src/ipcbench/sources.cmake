# Sources of the ipcbench module (forkpool ipc-bench's harness).
target_sources(forkpool_lib PRIVATE
  src/ipcbench/bench.cpp
  src/ipcbench/latency_summary.cpp
  src/ipcbench/machine.cpp
  src/ipcbench/payload.cpp
  src/ipcbench/peer.cpp
  src/ipcbench/peer_pair.cpp
  src/ipcbench/reference.cpp
  src/ipcbench/units.cpp
)
