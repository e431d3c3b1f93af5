#pragma once
// Whole-file reads and all-or-nothing writes for image files.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace forkpool::images {

// The whole of `path`. Throws ImageError ("cannot read: open(...): Permission denied") when it
// cannot be read or is larger than `max_bytes`.
std::vector<std::byte> read_file(const std::filesystem::path& path, std::uint64_t max_bytes);

// Writes `data` to `target` through forkpool's one output writer (ipc::write_output_file): a
// locked temporary file beside it, renamed over it once whole, so a reader, or a run
// interrupted at any point, sees the old file or the whole new one. Throws std::runtime_error
// ("cannot write: write(out/a.png): No space left on device") and leaves no temporary file
// when it fails.
void write_file_atomically(const std::filesystem::path& target, std::span<const unsigned char> data);

// Removes from each of `folders` the temporary files of writers that have died (a worker or a
// coordinator killed mid-write, in this run or an earlier one); the files of live writers,
// such as another run writing into the same folder, are left alone. Returns how many it
// removed. A folder that cannot be listed is passed over. Any thread.
std::size_t remove_stale_temp_files(std::span<const std::filesystem::path> folders);

}  // namespace forkpool::images
