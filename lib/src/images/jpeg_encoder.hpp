#pragma once
// JPEG encoding through libjpeg directly, for what OpenCV 4.6's encoder cannot set (the chroma
// sampling factors). Internal to the images module.

#include <opencv2/core.hpp>

#include <vector>

#include "forkpool/images/codec.hpp"

namespace forkpool::images {

// Encodes 8-bit grey or BGR `pixels` as OpenCV's encoder would (libjpeg's defaults, quality
// scaling with the baseline tables, optionally progressive by jpeg_simple_progression), with
// the colour planes sampled as `subsampling` says. Throws ImageError. Any thread.
std::vector<unsigned char> encode_jpeg(const cv::Mat& pixels, int quality, bool progressive,
                                       JpegSubsampling subsampling);

}  // namespace forkpool::images
