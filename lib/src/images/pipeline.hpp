#pragma once
// The threads backend of run_image_batch: a oneTBB pipeline, read -> process -> write.
// Internal to the images module.

#include <cstddef>
#include <vector>

#include "forkpool/images/batch.hpp"

namespace forkpool::images::detail {

// Processes report.items[i] for each i of `todo` on `workers` threads, reading, transforming
// and writing different images at once. SIGINT/SIGTERM stop it from starting new images;
// images already started are finished (so no temporary file is left) and the rest stay
// cancelled. Sets report.interrupted. Thread: the caller's; `on_item` runs on one pipeline
// thread at a time.
void run_pipeline(ImageBatchReport& report, const std::vector<std::size_t>& todo,
                  const ImageRecipe& recipe, unsigned workers, const ItemCallback& on_item);

}  // namespace forkpool::images::detail
