# Child processes (pid + pidfd), signal routing and the epoll event loop.
target_sources(forkpool_ipc PRIVATE
  src/child_process.cpp
  src/event_loop.cpp
  src/signal_catcher.cpp
)
