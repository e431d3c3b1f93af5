// ICC profiles through Little CMS 2.

#include <lcms2.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "forkpool/images/codec.hpp"
#include "forkpool/images/colour.hpp"

namespace forkpool::images {

namespace {

struct ProfileCloser {
  void operator()(void* p) const noexcept { cmsCloseProfile(p); }
};
using Profile = std::unique_ptr<void, ProfileCloser>;

struct TransformDeleter {
  void operator()(void* t) const noexcept { cmsDeleteTransform(t); }
};
using Transform = std::unique_ptr<void, TransformDeleter>;

// The big-endian 32-bit number at `at` (ICC headers are big-endian); at + 4 <= icc.size().
std::uint32_t big_endian32(std::span<const unsigned char> icc, std::size_t at) {
  return (std::uint32_t{icc[at]} << 24) | (std::uint32_t{icc[at + 1]} << 16) |
         (std::uint32_t{icc[at + 2]} << 8) | icc[at + 3];
}

Profile open_profile(std::span<const unsigned char> icc) {
  // Little CMS reads tags only when asked for them, so a profile cut short would open; its
  // header's size (the first four bytes, big-endian) says whether it is whole.
  if (icc.size() < 132) return nullptr;
  if (big_endian32(icc, 0) > icc.size()) return nullptr;
  return Profile(cmsOpenProfileFromMem(icc.data(), static_cast<cmsUInt32Number>(icc.size())));
}

// Whether the profile open_profile() accepted is for grey (1 channel) or RGB (3 or 4) pixels.
// Its colour space is read from the header (bytes 16-19, big-endian), not with
// cmsGetColorSpace(): that returns whatever the file says there as an enum, and a value outside
// the enum's range is undefined behaviour in C++ (fuzz_metadata found one).
bool describes(std::span<const unsigned char> icc, int channels) {
  const std::uint32_t space = big_endian32(icc, 16);
  return (channels == 1 && space == static_cast<std::uint32_t>(cmsSigGrayData)) ||
         ((channels == 3 || channels == 4) && space == static_cast<std::uint32_t>(cmsSigRgbData));
}

// sRGB's own grey: the sRGB tone curve (IEC 61966-2-1) under the D50 white of ICC's
// connection space, so grey converts to the grey an sRGB display shows.
Profile srgb_grey_profile() {
  const cmsFloat64Number params[5] = {2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045};
  cmsToneCurve* curve = cmsBuildParametricToneCurve(nullptr, 4, params);
  Profile grey(cmsCreateGrayProfile(cmsD50_xyY(), curve));
  cmsFreeToneCurve(curve);
  return grey;
}

// The last transform this thread built, for the profile that built it: a batch's photos
// mostly come from one camera, and building a transform (its lookup table) costs more than
// running it on a thumbnail.
struct CachedTransform {
  std::vector<unsigned char> icc;
  cmsUInt32Number format = 0;
  Transform transform;
};

cmsHTRANSFORM transform_for(std::span<const unsigned char> icc, int channels) {
  thread_local CachedTransform cache;
  const cmsUInt32Number format = channels == 1 ? TYPE_GRAY_8 : channels == 3 ? TYPE_BGR_8 : TYPE_BGRA_8;
  if (cache.transform && cache.format == format && std::equal(icc.begin(), icc.end(), cache.icc.begin(), cache.icc.end()))
    return cache.transform.get();
  cache.transform.reset();
  Profile input = open_profile(icc);
  if (!input || !describes(icc, channels))
    throw ImageError("its ICC profile cannot be read or does not describe its pixels");
  Profile output = channels == 1 ? srgb_grey_profile() : Profile(cmsCreate_sRGBProfile());
  Transform transform(cmsCreateTransform(input.get(), format, output.get(), format,
                                         INTENT_RELATIVE_COLORIMETRIC,
                                         channels == 4 ? cmsFLAGS_COPY_ALPHA : 0));
  if (!transform) throw ImageError("Little CMS cannot convert its ICC profile to sRGB");
  cache.icc.assign(icc.begin(), icc.end());
  cache.format = format;
  cache.transform = std::move(transform);
  return cache.transform.get();
}

}  // namespace

std::string_view to_string(Colorspace colorspace) noexcept {
  return colorspace == Colorspace::srgb ? "srgb" : "keep";
}

std::optional<Colorspace> colorspace_from_name(std::string_view name) noexcept {
  if (name == "keep") return Colorspace::keep;
  if (name == "srgb") return Colorspace::srgb;
  return std::nullopt;
}

bool icc_describes(std::span<const unsigned char> icc, int channels) {
  return open_profile(icc) && describes(icc, channels);
}

cv::Mat convert_to_srgb(const cv::Mat& pixels, std::span<const unsigned char> icc) {
  if (pixels.depth() != CV_8U || (pixels.channels() != 1 && pixels.channels() != 3 && pixels.channels() != 4))
    throw ImageError("colour conversion needs 8-bit grey, BGR or BGRA pixels");
  cmsHTRANSFORM transform = transform_for(icc, pixels.channels());
  cv::Mat out(pixels.size(), pixels.type());
  cmsDoTransformLineStride(transform, pixels.data, out.data, static_cast<cmsUInt32Number>(pixels.cols),
                           static_cast<cmsUInt32Number>(pixels.rows), static_cast<cmsUInt32Number>(pixels.step),
                           static_cast<cmsUInt32Number>(out.step), 0, 0);
  return out;
}

}  // namespace forkpool::images
