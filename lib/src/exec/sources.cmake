target_sources(forkpool_lib PRIVATE
  src/exec/batch_ledger.cpp
  src/exec/executor_names.cpp
  src/exec/process_backend.cpp
  src/exec/process_worker.cpp
  src/exec/run_batch.cpp
  src/exec/serial_backend.cpp
  src/exec/shared_arena.cpp
  src/exec/thread_backend.cpp
)
