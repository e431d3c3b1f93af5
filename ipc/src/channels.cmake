# Channels and their transports: pipe/unix/tcp (stream_channel), mq, shm.
target_sources(forkpool_ipc PRIVATE
  src/channel.cpp
  src/length_prefix.cpp
  src/message_queue.cpp
  src/mq_channel.cpp
  src/mq_chunks.cpp
  src/peer_link.cpp
  src/shm_channel.cpp
  src/shm_ring.cpp
  src/stream_channel.cpp
)
