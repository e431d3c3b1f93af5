#pragma once
// The work done to one image: read and decode, run the op chain, encode and write. The three
// stages are separate so the threads backend can pipeline them; process_image runs all three.

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "forkpool/images/codec.hpp"
#include "forkpool/images/colour.hpp"
#include "forkpool/images/metadata.hpp"
#include "forkpool/images/op.hpp"

namespace forkpool::images {

// What is done to every image of a batch, shared by all workers (sent once to each).
// Plain value, any thread.
struct ImageRecipe {
  std::vector<std::string> ops;             // op texts, in order ("resize=800x600>")
  int quality = 90;                         // JPEG and WebP
  std::uint64_t max_pixels = 200'000'000;   // larger images are refused before decoding
  Colorspace colorspace = Colorspace::keep;  // what becomes of an input's ICC profile
  bool strip = false;                       // true: outputs carry no metadata at all
  EncoderOptions encoder;                   // each format's own settings besides quality

  [[nodiscard]] std::vector<std::byte> serialize() const;
  static ImageRecipe deserialize(std::span<const std::byte> bytes);  // throws std::runtime_error

  // The text recorded with each output this recipe makes in `format`, and compared with an
  // existing output's on a re-run: everything that decides the output's bytes (the format, the
  // ops, quality where the format has one, that format's encoder options, and every setting
  // serialize() will carry) and nothing that does not (max_pixels only refuses an input;
  // another format's encoder options; workers and backend are not in a recipe). An encoder
  // option at its default is left out, so outputs made before the option existed stay up to
  // date. Canonical JSON (keys sorted), so equal recipes give equal text.
  [[nodiscard]] std::string output_record(ImageFormat format) const;
};

// Figures for one image, for the report. Plain value.
struct ImageOutcome {
  std::uint64_t input_bytes = 0;
  std::uint64_t output_bytes = 0;
  cv::Size input_size;   // decoded size the right way up, before any op
  cv::Size output_size;
  int reduction = 1;     // 2, 4, 8: the JPEG was decoded at that fraction of its size
  double ms = 0;         // read to written

  [[nodiscard]] std::vector<std::byte> serialize() const;
  static ImageOutcome deserialize(std::span<const std::byte> bytes);  // throws std::runtime_error
};

// A decoded image and what is known of it so far.
struct LoadedImage {
  cv::Mat pixels;
  std::size_t next_op = 0;  // 1 when decoding already did the chain's leading resize
  ImageMetadata metadata;   // the input's, for the output (empty with --strip)
  bool converted_to_srgb = false;  // the pixels were converted from the input's profile
  ImageOutcome outcome;
};

// When `chain` starts with a resize that shrinks a JPEG of this header by half or more: the
// largest libjpeg reduction (2, 4 or 8) whose image is still at least the target size.
// 1 otherwise.
int jpeg_reduction_for(const ImageHeader& header, const OpChain& chain);

// Reads and decodes `input`, and reads its metadata unless the recipe strips it (the ICC
// profile is read for --colorspace srgb all the same). With --colorspace srgb, pixels that
// the input's profile describes are converted to sRGB (after the leading resize, if decoding
// did it) and the profile is dropped. Throws ImageError for bad input (empty, truncated, not
// an image, too many pixels, metadata exiv2 cannot parse), with a reason and no path.
LoadedImage load_image(const std::filesystem::path& input, const OpChain& chain,
                       const ImageRecipe& recipe);

// Runs the rest of the chain. Throws ImageError when an op would make an image of more than
// `max_pixels` (0: no limit; check_op_fits), before it runs.
void transform_image(LoadedImage& image, const OpChain& chain, std::uint64_t max_pixels);

// Encodes in the format `output`'s extension names, adds the input's metadata made true of
// the output (metadata_for_output; an ICC profile only where it describes the output's
// channels: a `gray` op's output drops an RGB profile) and writes it atomically.
void save_image(LoadedImage& image, const std::filesystem::path& output, const ImageRecipe& recipe);

// All three. Thread: any; the chain is shared read-only.
ImageOutcome process_image(const std::filesystem::path& input, const std::filesystem::path& output,
                           const OpChain& chain, const ImageRecipe& recipe);

}  // namespace forkpool::images
