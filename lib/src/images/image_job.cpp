#include "forkpool/images/image_job.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <utility>

#include "forkpool/images/files.hpp"
#include "forkpool/images/geometry.hpp"

namespace forkpool::images {

namespace {

using Clock = std::chrono::steady_clock;

// Compressed images are rarely more than a few bytes per pixel; this only stops a runaway read
// when there is no pixel limit. With one, a file larger than the memory its decode may take is
// refused unread.
constexpr std::uint64_t kMaxFileBytes = std::uint64_t{4} << 30;

std::vector<std::byte> to_bytes(const std::string& text) {
  const auto* p = reinterpret_cast<const std::byte*>(text.data());
  return {p, p + text.size()};
}

nlohmann::json parse_json(std::span<const std::byte> bytes, const char* what) {
  auto json = nlohmann::json::parse(reinterpret_cast<const char*>(bytes.data()),
                                    reinterpret_cast<const char*>(bytes.data() + bytes.size()),
                                    nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object())
    throw std::runtime_error(fmt::format("malformed {} message", what));
  return json;
}

// A whole number of type Int at `key`. nlohmann's get<int>() converts any JSON number with a
// cast, which for a float beyond the type's range (1e20) is undefined behaviour: these messages
// cross a channel, so a worker that sends such a field fails its item instead.
template <class Int>
Int whole_number(const nlohmann::json& json, const char* key, const char* what) {
  const nlohmann::json& value = json.at(key);
  if (value.is_number_unsigned()) {
    if (auto u = value.get<std::uint64_t>(); std::in_range<Int>(u)) return static_cast<Int>(u);
  } else if (value.is_number_integer()) {
    if (auto i = value.get<std::int64_t>(); std::in_range<Int>(i)) return static_cast<Int>(i);
  }
  throw std::runtime_error(fmt::format("malformed {} message: \"{}\" is not a whole number in range", what, key));
}

}  // namespace

std::vector<std::byte> ImageRecipe::serialize() const {
  return to_bytes(nlohmann::json{{"ops", ops},
                                 {"quality", quality},
                                 {"max_pixels", max_pixels},
                                 {"colorspace", to_string(colorspace)},
                                 {"strip", strip},
                                 {"jpeg_progressive", encoder.jpeg_progressive},
                                 {"jpeg_subsampling", to_string(encoder.jpeg_subsampling)},
                                 {"png_level", encoder.png_level},
                                 {"webp_lossless", encoder.webp_lossless},
                                 {"tiff_compression", to_string(encoder.tiff_compression)}}
                      .dump());
}

ImageRecipe ImageRecipe::deserialize(std::span<const std::byte> bytes) {
  auto json = parse_json(bytes, "recipe");
  ImageRecipe r;
  r.ops = json.at("ops").get<std::vector<std::string>>();
  r.quality = whole_number<int>(json, "quality", "recipe");
  r.max_pixels = whole_number<std::uint64_t>(json, "max_pixels", "recipe");
  auto colorspace = colorspace_from_name(json.at("colorspace").get<std::string>());
  if (!colorspace) throw std::runtime_error("malformed recipe message");
  r.colorspace = *colorspace;
  r.strip = json.at("strip").get<bool>();
  r.encoder.jpeg_progressive = json.at("jpeg_progressive").get<bool>();
  auto subsampling = jpeg_subsampling_from_name(json.at("jpeg_subsampling").get<std::string>());
  auto compression = tiff_compression_from_name(json.at("tiff_compression").get<std::string>());
  if (!subsampling || !compression) throw std::runtime_error("malformed recipe message");
  r.encoder.jpeg_subsampling = *subsampling;
  r.encoder.png_level = whole_number<int>(json, "png_level", "recipe");
  r.encoder.webp_lossless = json.at("webp_lossless").get<bool>();
  r.encoder.tiff_compression = *compression;
  return r;
}

std::string ImageRecipe::output_record(ImageFormat format) const {
  // Bumped when an op or encoder changes what the same recipe makes, so older outputs are redone.
  // 2: outputs carry their input's metadata.
  constexpr int kRecordVersion = 2;
  auto json = parse_json(serialize(), "recipe");
  json.erase("max_pixels");
  for (const char* key : {"jpeg_progressive", "jpeg_subsampling", "png_level", "webp_lossless",
                          "tiff_compression"})
    json.erase(key);
  // Only this format's options, and only those not at their default: the record of an output
  // made before they existed is the record of the same output now.
  const EncoderOptions defaults;
  switch (format) {
    case ImageFormat::jpeg:
      if (encoder.jpeg_progressive) json["jpeg_progressive"] = true;
      if (encoder.jpeg_subsampling != defaults.jpeg_subsampling)
        json["jpeg_subsampling"] = to_string(encoder.jpeg_subsampling);
      break;
    case ImageFormat::png:
      json.erase("quality");
      if (encoder.png_level != defaults.png_level) json["png_level"] = encoder.png_level;
      break;
    case ImageFormat::webp:
      if (encoder.webp_lossless) {
        json.erase("quality");
        json["webp_lossless"] = true;
      }
      break;
    case ImageFormat::tiff:
      json.erase("quality");
      if (encoder.tiff_compression != defaults.tiff_compression)
        json["tiff_compression"] = to_string(encoder.tiff_compression);
      break;
  }
  json["format"] = to_string(format);
  json["v"] = kRecordVersion;
  return json.dump();
}

std::vector<std::byte> ImageOutcome::serialize() const {
  return to_bytes(nlohmann::json{{"ib", input_bytes},
                                 {"ob", output_bytes},
                                 {"iw", input_size.width},
                                 {"ih", input_size.height},
                                 {"ow", output_size.width},
                                 {"oh", output_size.height},
                                 {"r", reduction},
                                 {"ms", ms}}
                      .dump());
}

ImageOutcome ImageOutcome::deserialize(std::span<const std::byte> bytes) {
  auto json = parse_json(bytes, "result");
  ImageOutcome o;
  o.input_bytes = whole_number<std::uint64_t>(json, "ib", "result");
  o.output_bytes = whole_number<std::uint64_t>(json, "ob", "result");
  o.input_size = {whole_number<int>(json, "iw", "result"), whole_number<int>(json, "ih", "result")};
  o.output_size = {whole_number<int>(json, "ow", "result"), whole_number<int>(json, "oh", "result")};
  o.reduction = whole_number<int>(json, "r", "result");
  o.ms = json.at("ms").get<double>();
  return o;
}

int jpeg_reduction_for(const ImageHeader& header, const OpChain& chain) {
  if (header.format != ImageFormat::jpeg || chain.empty() || header.size.empty()) return 1;
  const cv::Size full = header.oriented_size();
  auto target = chain.front()->output_size(full);
  if (!target || target->width >= full.width || target->height >= full.height) return 1;
  // libjpeg's scaled sizes round up: ceil(side / reduction).
  auto fits = [&](int r) {
    return (full.width + r - 1) / r >= target->width && (full.height + r - 1) / r >= target->height;
  };
  for (int r : {8, 4, 2})
    if (fits(r)) return r;
  return 1;
}

LoadedImage load_image(const std::filesystem::path& input, const OpChain& chain,
                       const ImageRecipe& recipe) {
  const auto start = Clock::now();
  const auto limits = DecodeLimits::for_pixels(recipe.max_pixels);
  const auto data = read_file(input, limits.max_bytes > 0 ? std::min(kMaxFileBytes, limits.max_bytes)
                                                          : kMaxFileBytes);
  const auto header = probe_image(data);
  if (!header) {
    if (auto other = other_image_format(data))
      throw ImageError(fmt::format("a {} image: forkpool reads JPEG, PNG, WebP and TIFF only", *other));
    throw ImageError("not a JPEG, PNG, WebP or TIFF image");
  }
  LoadedImage image;
  image.outcome.input_bytes = data.size();
  image.outcome.reduction = jpeg_reduction_for(*header, chain);
  check_before_decoding(*header, data.size(), image.outcome.reduction, limits);
  if (!recipe.strip || recipe.colorspace == Colorspace::srgb) image.metadata = read_metadata(data);
  image.pixels = decode_image(data, *header, image.outcome.reduction);
  if (image.outcome.reduction > 1) {
    // The leading resize's target comes from the full size, so the output is the same size
    // as without the reduction; only the decoding work shrank.
    image.outcome.input_size = header->oriented_size();
    check_op_fits(*chain.front(), image.outcome.input_size, recipe.max_pixels);
    image.pixels = chain.front()->run_from(image.pixels, image.outcome.input_size);
    image.next_op = 1;
  } else {
    image.outcome.input_size = image.pixels.size();
  }
  if (recipe.colorspace == Colorspace::srgb) {
    // A profile that does not describe the decoded pixels (CMYK, which libjpeg already turned
    // into RGB without it; an RGB profile on a grey image) cannot convert them: it is dropped
    // and the pixels stay as decoded.
    if (icc_describes(image.metadata.icc, image.pixels.channels())) {
      image.pixels = convert_to_srgb(image.pixels, image.metadata.icc);
      image.converted_to_srgb = true;
    }
    image.metadata.icc.clear();
  }
  if (recipe.strip) image.metadata = {};
  image.outcome.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return image;
}

void transform_image(LoadedImage& image, const OpChain& chain, std::uint64_t max_pixels) {
  const auto start = Clock::now();
  try {
    image.pixels = run_op_chain(chain, std::move(image.pixels), image.next_op, max_pixels);
  } catch (const cv::Exception& e) {
    throw ImageError(fmt::format("op failed: {}", e.err));  // e.what() spans several lines
  }
  image.next_op = chain.size();
  image.outcome.ms += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void save_image(LoadedImage& image, const std::filesystem::path& output, const ImageRecipe& recipe) {
  const auto start = Clock::now();
  auto format = format_from_name(output.extension().native());
  if (!format) throw ImageError(fmt::format("no image format for '{}'", output.extension().native()));
  auto bytes = encode_image(image.pixels, *format, recipe.quality, recipe.encoder);
  if (!image.metadata.empty()) {
    ImageMetadata metadata = metadata_for_output(image.metadata, image.pixels.size(), image.converted_to_srgb);
    if (!icc_describes(metadata.icc, image.pixels.channels())) metadata.icc.clear();
    bytes = attach_metadata(std::move(bytes), *format, metadata);
  }
  write_file_atomically(output, bytes, recipe.output_record(*format));
  image.outcome.output_bytes = bytes.size();
  image.outcome.output_size = image.pixels.size();
  image.outcome.ms += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

ImageOutcome process_image(const std::filesystem::path& input, const std::filesystem::path& output,
                           const OpChain& chain, const ImageRecipe& recipe) {
  LoadedImage image = load_image(input, chain, recipe);
  transform_image(image, chain, recipe.max_pixels);
  save_image(image, output, recipe);
  return image.outcome;
}

}  // namespace forkpool::images
