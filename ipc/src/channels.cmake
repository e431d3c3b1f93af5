target_sources(forkpool_ipc PRIVATE
  src/channel.cpp
  src/stream_channel.cpp
)
