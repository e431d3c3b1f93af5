#include "forkpool/images/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <stdexcept>

#include "forkpool/images/codec.hpp"
#include "forkpool/ipc/output_file.hpp"
#include "forkpool/ipc/sys_call.hpp"
#include "forkpool/ipc/unique_fd.hpp"

namespace forkpool::images {

std::vector<std::byte> read_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  auto fail = [](const ipc::SysError& e) -> std::vector<std::byte> {
    throw ImageError("cannot read: " + e.message());
  };
  auto fd = ipc::sys_call("open", path.native(),
                          [&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
  if (!fd) return fail(fd.error());
  ipc::UniqueFd file(*fd);
  struct stat st {};
  if (auto r = ipc::sys_call("fstat", path.native(), [&] { return ::fstat(file.get(), &st); }); !r)
    return fail(r.error());
  if (!S_ISREG(st.st_mode)) throw ImageError("cannot read: not a regular file");
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (size == 0) throw ImageError("empty file (0 bytes)");
  if (size > max_bytes)
    throw ImageError(fmt::format("file too large ({} bytes, limit {})", size, max_bytes));
  std::vector<std::byte> data(size);
  std::size_t done = 0;
  while (done < data.size()) {
    auto n = ipc::sys_call("read", path.native(), [&] {
      return ::read(file.get(), data.data() + done, data.size() - done);
    });
    if (!n) return fail(n.error());
    if (*n == 0) break;  // shrank while we read: decode what is there
    done += static_cast<std::size_t>(*n);
  }
  data.resize(done);
  return data;
}

namespace {
constexpr std::string_view kRecordAttribute = "user.forkpool.recipe";
// A record is a short line of JSON; anything longer under our name is not one of ours.
constexpr std::size_t kMaxRecordBytes = 4096;
}  // namespace

void write_file_atomically(const std::filesystem::path& target,
                           std::span<const unsigned char> data, std::string_view record) {
  auto fail = [](const ipc::SysError& e) { throw std::runtime_error("cannot write: " + e.message()); };
  auto file = ipc::OutputFile::open(target);
  if (!file) fail(file.error());
  if (auto r = file->write(std::as_bytes(data)); !r) fail(r.error());
  // A record that does not stick is not a failed image: the output is good, only a re-run
  // cannot tell what made it (and keeps it rather than guessing).
  if (!record.empty())
    (void)file->set_attribute(kRecordAttribute, std::as_bytes(std::span(record.data(), record.size())));
  if (auto r = file->commit(); !r) fail(r.error());
}

std::optional<std::string> read_output_record(const std::filesystem::path& path) {
  auto value = ipc::read_attribute(path, kRecordAttribute, kMaxRecordBytes);
  if (!value) return std::nullopt;
  return *value;
}

std::vector<std::filesystem::path> parse_path_list(std::string_view text, bool nul) {
  const char separator = nul ? '\0' : '\n';
  if (!nul && text.find('\0') != std::string_view::npos)
    throw std::invalid_argument("the list holds NUL bytes: read it with -0 (--null), as find -print0 writes it");
  std::vector<std::filesystem::path> paths;
  while (!text.empty()) {
    const auto end = text.find(separator);
    const auto entry = text.substr(0, end);
    if (!entry.empty()) paths.emplace_back(entry);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return paths;
}

std::size_t remove_stale_temp_files(std::span<const std::filesystem::path> folders) {
  std::size_t removed = 0;
  for (const auto& folder : folders)
    if (auto n = ipc::remove_stale_temp_files(folder)) removed += *n;
  return removed;
}

}  // namespace forkpool::images
