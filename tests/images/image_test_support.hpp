#pragma once
// Temporary folders and small synthetic images for the images tests.

#include <opencv2/core.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "common/run_command.hpp"
#include "common/temp_dir.hpp"

namespace forkpool::testing {

// A smooth colour gradient with some texture, `channels` 1, 3 or 4 (alpha a radial fade), so
// every op has something to work on. Deterministic in `seed`.
cv::Mat synthetic_image(int width, int height, int channels = 3, int seed = 0);

// Writes `image` to `path` in the format of its extension; creates the parent folders.
void write_image(const std::filesystem::path& path, const cv::Mat& image);

std::string read_bytes(const std::filesystem::path& path);
void write_bytes(const std::filesystem::path& path, const std::string& bytes);

// Every regular file under `root`, relative to it, sorted.
std::vector<std::string> files_under(const std::filesystem::path& root);

// A grey, featureless field with one small, colourful, textured object at `object`: what a
// fill resize's attention crop should keep and a centre crop may miss.
cv::Mat field_with_object(cv::Size size, cv::Rect object);

// Pixels of `bgr` with HSV saturation over 100 of 255: the object's (the field has 16).
int saturated_pixels(const cv::Mat& bgr);

// The sample images shipped in data/images.
std::filesystem::path sample_image(const std::string& name);

// Runs `forkpool images ARGS...`, the binary under test, and returns what it did.
CommandOutcome forkpool_images(std::vector<std::string> args);

}  // namespace forkpool::testing
