#pragma once
// The recipe settings that `images` and `compare images` take the same way, from their flags.

#include "forkpool/images/batch.hpp"
#include "forkpool/images/codec.hpp"
#include "forkpool/images/colour.hpp"

namespace forkpool::cli {

// Sets `recipe`'s ops, quality, colour and encoder settings from `f`, any flags struct with
// those fields (ImagesFlags, ImagesCompareFlags). The names were checked by CLI11 (IsMember,
// ranges) before this runs.
template <class Flags>
void apply_recipe_flags(const Flags& f, images::ImageRecipe& recipe) {
  recipe.ops = f.ops;
  recipe.quality = f.quality;
  recipe.colorspace = *images::colorspace_from_name(f.colorspace);
  recipe.strip = f.strip;
  recipe.encoder.jpeg_progressive = f.jpeg_progressive;
  recipe.encoder.jpeg_subsampling = *images::jpeg_subsampling_from_name(f.jpeg_subsampling);
  recipe.encoder.png_level = f.png_level;
  recipe.encoder.webp_lossless = f.webp_lossless;
  recipe.encoder.tiff_compression = *images::tiff_compression_from_name(f.tiff_compression);
}

}  // namespace forkpool::cli
