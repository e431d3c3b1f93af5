#include "job_kit.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace forkpool::testing {
namespace {

constexpr std::size_t kHeader = 5;  // u32 index, u8 action

// The batch whose worker_init last ran in this process (worker_init is per process).
std::atomic<int> g_init_batch{-1};

std::uint64_t checksum(std::span<const std::byte> bytes) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::byte b : bytes) h = (h ^ static_cast<std::uint8_t>(b)) * 1099511628211ull;
  return h;
}

template <class T>
void append(Bytes& out, T value) {
  std::size_t at = out.size();
  out.resize(at + sizeof value);
  std::memcpy(out.data() + at, &value, sizeof value);
}

// Creates the marker of job `index`; false when it existed (the job ran before).
bool first_time(std::uint32_t index) {
  std::string marker = job_settings().marker_dir + "/" + std::to_string(index);
  int fd = ::open(marker.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

// The write end of this worker's reply pipe: its only write-only pipe above stderr that the
// test process did not hold before the batch.
int reply_pipe() {
  int found = -1;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = std::stoi(entry.path().filename().string());
    struct stat st {};
    if (fd <= STDERR_FILENO || ::fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) continue;
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || (flags & O_ACCMODE) != O_WRONLY) continue;
    if (std::ranges::count(job_settings().foreign_fds, fd)) continue;
    if (found >= 0) throw std::runtime_error("more than one write-only pipe: not the pipe transport?");
    found = fd;
  }
  if (found < 0) throw std::runtime_error("no reply pipe: not the pipe transport?");
  return found;
}

// The wire format's frame, spelled out here so that the test does not share the code it tests.
Bytes reply_frame(std::uint64_t index, std::uint32_t kind, std::uint32_t reserved) {
  Bytes frame;
  append(frame, index);
  append(frame, kind);
  append(frame, reserved);
  return frame;
}

void write_malformed_reply(std::uint32_t index, Garbage garbage) {
  constexpr std::uint32_t kDone = 0x444f'4e45;
  Bytes body;
  switch (garbage) {
    case Garbage::short_message: body = Bytes(3, std::byte{'x'}); break;
    case Garbage::stray_index: body = reply_frame(index + 1000, kDone, 0); break;
    case Garbage::unknown_kind: body = reply_frame(index, 0x1234'5678, 0); break;
    case Garbage::reserved_nonzero: body = reply_frame(index, kDone, 7); break;
  }
  Bytes message;
  append(message, static_cast<std::uint64_t>(body.size()));  // the stream's length prefix (LE)
  message.insert(message.end(), body.begin(), body.end());
  if (::write(reply_pipe(), message.data(), message.size()) != static_cast<ssize_t>(message.size()))
    throw std::runtime_error("short write of the malformed reply");
}

Bytes compute(std::uint32_t index, std::span<const std::byte> payload,
              std::span<const std::byte> shared_input) {
  Bytes out(payload.size());
  for (std::size_t i = 0; i < payload.size(); ++i) out[i] = payload[i] ^ std::byte{0x5a};
  append(out, checksum(shared_input));
  append(out, index);
  return out;
}

}  // namespace

std::vector<int> open_fds() {
  std::vector<int> fds;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) throw std::runtime_error("cannot list /proc/self/fd");
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    // Not the listing's own fd: it is closed again before any worker's pipe could take it.
    if (name != "." && name != ".." && std::stoi(name) != ::dirfd(dir)) fds.push_back(std::stoi(name));
  }
  ::closedir(dir);
  return fds;
}

JobSettings& job_settings() {
  static JobSettings settings;
  return settings;
}

Bytes make_job(std::uint32_t index, Action action, std::size_t payload_bytes) {
  Bytes job(kHeader + payload_bytes);
  std::memcpy(job.data(), &index, sizeof index);
  job[4] = static_cast<std::byte>(action);
  for (std::size_t i = 0; i < payload_bytes; ++i)
    job[kHeader + i] = static_cast<std::byte>((i * 31 + index) & 0xff);
  return job;
}

Bytes make_malformed_job(std::uint32_t index, Garbage garbage, bool always) {
  Bytes job = make_job(index, always ? Action::malformed_reply_always : Action::malformed_reply_once);
  job[kHeader] = static_cast<std::byte>(garbage);
  return job;
}

std::vector<Bytes> make_jobs(std::size_t count, Action action, std::size_t payload_bytes) {
  std::vector<Bytes> jobs;
  for (std::size_t i = 0; i < count; ++i)
    jobs.push_back(make_job(static_cast<std::uint32_t>(i), action, payload_bytes));
  return jobs;
}

std::atomic<int>& init_counter() {
  JobSettings& s = job_settings();
  return *s.arena->as<std::atomic<int>>(s.arena_slots * sizeof(std::uint64_t));
}

void counting_init() {
  g_init_batch = job_settings().batch_id;
  if (job_settings().arena) init_counter().fetch_add(1);
}

Bytes run_job(std::span<const std::byte> input, const WorkerContext& context) {
  if (input.size() < kHeader) throw std::runtime_error("short job");
  std::uint32_t index;
  std::memcpy(&index, input.data(), sizeof index);
  auto action = static_cast<Action>(input[4]);
  auto payload = input.subspan(kHeader);
  const JobSettings& settings = job_settings();

  switch (action) {
    case Action::compute: break;
    case Action::throw_error: throw std::runtime_error("job " + std::to_string(index) + " refused");
    case Action::kill_self_once:
      if (first_time(index)) ::raise(SIGKILL);
      break;
    case Action::stop_self_once:
      if (first_time(index)) ::raise(SIGSTOP);
      break;
    case Action::hang_always:
      for (;;) ::pause();
    case Action::malformed_reply_once:
    case Action::malformed_reply_always:
      if (action == Action::malformed_reply_always || first_time(index))
        write_malformed_reply(index, static_cast<Garbage>(payload[0]));
      break;
    case Action::segv_always:
      // The sanitizers catch SIGSEGV and exit instead; a real crash ends by the signal. No
      // core files from a test.
      ::signal(SIGSEGV, SIG_DFL);
      {
        rlimit no_core{0, 0};
        ::setrlimit(RLIMIT_CORE, &no_core);
      }
      ::raise(SIGSEGV);
      break;
    case Action::interrupt_parent:
    case Action::terminate_parent:
      ::kill(::getppid(), action == Action::interrupt_parent ? SIGINT : SIGTERM);
      for (;;) ::pause();  // SIGINT is ignored in workers: only the coordinator's SIGTERM ends this
    case Action::interrupt_self: ::kill(::getpid(), SIGINT); break;
    case Action::sleep_then_compute: std::this_thread::sleep_for(std::chrono::milliseconds(2)); break;
    case Action::write_arena:
      settings.arena->as<std::uint64_t>(0)[index] = std::uint64_t{index} * 3;
      break;
    case Action::big_output: {
      Bytes out(256 * 1024, static_cast<std::byte>(index & 0xff));
      return out;
    }
    case Action::report_init: {
      Bytes out(1, std::byte{g_init_batch.load() == settings.batch_id});
      return out;
    }
  }
  return compute(index, payload, context.shared_input);
}

Bytes expected_output(const Bytes& job, std::span<const std::byte> shared_input) {
  std::uint32_t index;
  std::memcpy(&index, job.data(), sizeof index);
  return compute(index, std::span<const std::byte>(job).subspan(kHeader), shared_input);
}

bool transport_available(ipc::Transport t) {
  auto pair = ipc::make_channel_pair(t);
  return pair || pair.error().code != ENOSYS;
}

}  // namespace forkpool::testing
