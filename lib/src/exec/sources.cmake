target_sources(forkpool_lib PRIVATE
  src/exec/executor_names.cpp
  src/exec/shared_arena.cpp
)
