#pragma once
// What `forkpool images` prints and writes about a batch: failures, the summary line, the
// verbose per-image lines, the --json report, and the --list-ops table.

#include <span>
#include <string>

#include "forkpool/exec/executor.hpp"
#include "forkpool/images/batch.hpp"

namespace forkpool::cli {

// "forkpool images: 8 done, 0 skipped, 1 failed of 9 in 0.42 s: 19.0 images/s, 17.3 MP/s
// (processes, 2 workers, shm)"
std::string images_summary_line(const images::ImageBatchReport& report,
                                const ExecutorOptions& options);

// What became of the outputs that were there before, "" when there were none: "3 up to date,
// 2 redone (1 recipe changed, 1 input newer), 1 kept without a recipe (--overwrite replaces
// it)". Redone counts done items (pending ones, for a dry run). Ends every summary line.
std::string images_existing_clause(std::span<const images::ImageItem> items);

// "  rocket.jpg -> out/rocket.jpg  640x427 -> 600x400  1/2 decode  12.3 ms"
std::string images_item_line(const images::ImageItem& item);

// The --log line of an item that has ended, one JSON object on one line: input, output (null
// for a folder that could not be listed), status (done, skipped, failed), error (why it failed
// or was skipped; null when done), ms (read to written, measured by its worker; null when not
// done), worker (the one that ran it, 0..N-1; null when none did), and input_hex/output_hex as
// in the report for a name that is not UTF-8.
std::string images_log_line(const images::ImageItem& item);

// The --json report: settings, one record per input, and the summary.
std::string images_json(const images::ImageBatch& batch, const images::ImageBatchReport& report,
                        const ExecutorOptions& options);

// The --list-ops table: syntax and help of every op.
std::string images_ops_table();

}  // namespace forkpool::cli
