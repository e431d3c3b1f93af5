#pragma once
// Writing an output file, the one way forkpool writes files: whole or not at all.
//
// A regular file is written to a temporary file in its folder and renamed over the target
// once complete (leveldb's SetCurrentFile), so a reader or a run killed at any point sees the
// old file or the whole new one. A symlink is written through to the file it names. A path
// that is not a regular file (a FIFO, a device, /dev/stdout) is opened and written in place,
// never renamed over; "-" is this process's stdout.
//
// Temporary files are named ".<name>.forkpool-tmp-<16 hex digits>" and their writer holds an
// flock(LOCK_EX) on them until they are renamed or removed. A lock dies with its process (a
// pid can be reused, a lock cannot outlive its owner), so remove_stale_temp_files can tell
// the leftovers of a killed writer from the files of a live one and removes only the former.

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "forkpool/ipc/sys_error.hpp"
#include "forkpool/ipc/unique_fd.hpp"

namespace forkpool::ipc {

// The marker in the name of every temporary file: ".<name>.forkpool-tmp-<random>".
inline constexpr std::string_view kTempMarker = ".forkpool-tmp-";

enum class OutputKind {
  standard_output,  // "-": this process's stdout
  in_place,         // an existing file that is not regular (FIFO, device, /dev/stdout): written as is
  replace,          // an existing regular file: a temporary beside it is renamed over it
  create,           // nothing there yet: a temporary in its folder is renamed to it
};

// Where and how an output path will be written, found without writing. Plain value.
struct OutputTarget {
  std::filesystem::path path;  // where the bytes go, every symlink followed; "-" for stdout
  OutputKind kind = OutputKind::create;
  dev_t device = 0;  // of the existing file (in_place, replace); 0 otherwise
  ino_t inode = 0;
  bool append = false;  // in_place through /proc/<pid>/fd/N: a regular file another process
                        // opened for us (`--json /dev/stdout > log`), written at its end

  [[nodiscard]] bool exists() const noexcept {
    return kind == OutputKind::in_place || kind == OutputKind::replace;
  }
};

// Follows `path` through its symlinks (relative ones from the link's folder, up to 40) to the
// file it names and checks that it can be written: its folder exists and this process may
// create files in it (faccessat with the effective ids, so a read-only mount counts), or the
// existing non-regular file is writable. Errors: realpath(FOLDER) when the folder does not
// exist (ENOENT) or is not a folder (ENOTDIR); access(FOLDER or FILE) when it is not writable;
// open(PATH) EISDIR for a folder; readlink/lstat otherwise. Any thread.
Result<OutputTarget> resolve_output(const std::filesystem::path& path);

struct OutputOptions {
  bool sync = false;  // fsync the file before the rename and its folder after it
  // First remove the temporaries for this target that dead writers left in its folder (one
  // listing of the folder: for single outputs such as a report, not for each of a batch).
  bool remove_stale = false;
  // Written where it is, as it goes, for a file read while the command runs (a log that
  // `tail -f` follows): a regular file is created, or truncated, at open and each write is in
  // it at once; no temporary, so commit renames nothing and a reader (or a crash) may see part
  // of it. Other kinds are written as without it. remove_stale does nothing then.
  bool live = false;
};

// One output file being written. Move-only. Made, written and committed by one thread at a
// time; any number of OutputFiles may be open at once in a process and across processes. Not
// to be carried across fork (the child would share the temporary's lock).
class OutputFile {
 public:
  // Resolves `path` (see resolve_output) and opens the way to write it: for a regular file a
  // fresh temporary in the target's folder, O_CREAT|O_EXCL|O_CLOEXEC, mode 0666 less the
  // umask, locked (with `live`, the file itself, O_CREAT|O_TRUNC); for the others the file
  // itself, O_WRONLY (O_APPEND through /proc).
  static Result<OutputFile> open(const std::filesystem::path& path, OutputOptions options = {});

  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&& other) noexcept;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();  // not committed: the temporary is removed

  // Appends all of `data`. On failure the temporary is removed and this OutputFile is spent.
  Result<void> write(std::span<const std::byte> data);
  // Sets the extended attribute `name` (a "user." one) of the file being written. On the
  // temporary, before commit, so the attribute is there from the moment the file has its name
  // and a file that never got its attribute never appears. Errors (ENOTSUP where the file
  // system keeps no user attributes, ENOSPC, E2BIG) leave the file as it was, still to be
  // committed: the caller decides what a missing attribute means. ENOTSUP for a file written
  // in place (stdout, FIFO, device).
  Result<void> set_attribute(std::string_view name, std::span<const std::byte> value);
  // Puts the file in place: flushes (reporting a late write error, e.g. of NFS), fsyncs when
  // asked, renames the temporary over the target. On failure the temporary is removed. With
  // sync, an error of the folder's fsync comes after the rename: the file is then in place,
  // but the rename may not survive a crash of the machine.
  Result<void> commit();
  // Removes the temporary (if any) and closes. Idempotent.
  void discard() noexcept;

  [[nodiscard]] const OutputTarget& target() const noexcept { return target_; }
  // The temporary file's path while one exists (for tests); empty otherwise.
  [[nodiscard]] const std::filesystem::path& temp_path() const noexcept { return temp_; }

 private:
  OutputFile() = default;
  Result<void> fail(SysError error);

  OutputTarget target_;
  UniqueFd fd_;
  std::filesystem::path temp_;
  bool sync_ = false;
  bool live_ = false;  // a regular file written in place (OutputOptions::live)
};

// The extended attribute `name` of `path` (symlinks followed), at most `max_bytes` of it; an
// empty optional when the file has none or its file system keeps none (ENODATA, ENOTSUP).
// getxattr's error otherwise (ERANGE: longer than max_bytes). Any thread.
Result<std::optional<std::string>> read_attribute(const std::filesystem::path& path,
                                                  std::string_view name, std::size_t max_bytes);

// Writes `data` to `path` through an OutputFile: the whole of it, or nothing changes (for a
// regular file; a FIFO or device may have taken part of it).
Result<void> write_output_file(const std::filesystem::path& path, std::span<const std::byte> data,
                               OutputOptions options = {});

// Whether `name` (a file name, no folder) is one of our temporary files; with `target_name`,
// whether it is one for that target.
bool is_temp_name(std::string_view name, std::string_view target_name = {});

// Removes from `folder` the temporary files whose writer has died (it can take their lock at
// once), and with `target_name` only those for that target. A live writer's files, and files
// it may not open, are left alone. Returns how many it removed; an error only when the folder
// cannot be listed (ENOENT is not an error: nothing to remove). Any thread or process.
Result<std::size_t> remove_stale_temp_files(const std::filesystem::path& folder,
                                            std::string_view target_name = {});

}  // namespace forkpool::ipc
