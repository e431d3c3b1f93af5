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

// Where write_file_atomically stages `target` in this process: ".<name>.forkpool-tmp-<pid>"
// beside it, so the rename is atomic and a leftover is recognisable.
std::filesystem::path temp_path_for(const std::filesystem::path& target);

// Writes `data` to the temporary name, then renames it over `target`: a reader, or a run
// interrupted at any point, sees the old file or the whole new one, never part of one.
// Throws std::runtime_error and leaves no temporary file when it fails.
void write_file_atomically(const std::filesystem::path& target, std::span<const unsigned char> data);

// Removes the temporary files of `targets` that any process left (a worker killed mid-write),
// scanning each folder once. Returns how many it removed. For the coordinator, after its
// workers have exited.
std::size_t remove_temp_files_for(std::span<const std::filesystem::path> targets);

}  // namespace forkpool::images
