// Makes data/colour/adobe_rgb_gps.jpg (see make-colour-photo.sh): a photo whose pixels are in
// Adobe RGB (1998), with that profile embedded, EXIF with GPS and Orientation 6, XMP and IPTC.
//
//   make_colour_photo SOURCE.jpg OUT.jpg

#include <exiv2/exiv2.hpp>
#include <lcms2.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <vector>

namespace {

// A profile with the primaries, white point and tone curve of Adobe RGB (1998), made by
// Little CMS: no profile file is copied from anywhere.
std::vector<unsigned char> adobe_rgb_profile() {
  const cmsCIExyY white = {0.3127, 0.3290, 1.0};  // D65
  const cmsCIExyYTRIPLE primaries = {{0.64, 0.33, 1.0}, {0.21, 0.71, 1.0}, {0.15, 0.06, 1.0}};
  cmsToneCurve* gamma = cmsBuildGamma(nullptr, 563.0 / 256.0);
  cmsToneCurve* curves[3] = {gamma, gamma, gamma};
  cmsHPROFILE profile = cmsCreateRGBProfile(&white, &primaries, curves);
  cmsFreeToneCurve(gamma);
  cmsSetProfileVersion(profile, 2.1);  // as Adobe's own: every reader knows version 2
  cmsMLU* description = cmsMLUalloc(nullptr, 1);
  cmsMLUsetASCII(description, "en", "US", "Adobe RGB (1998) compatible, made by forkpool's data/make-colour-photo.sh");
  cmsWriteTag(profile, cmsSigProfileDescriptionTag, description);
  cmsMLUsetASCII(description, "en", "US", "No copyright, use freely (CC0)");
  cmsWriteTag(profile, cmsSigCopyrightTag, description);
  cmsMLUfree(description);
  cmsUInt32Number size = 0;
  cmsSaveProfileToMem(profile, nullptr, &size);
  std::vector<unsigned char> bytes(size);
  cmsSaveProfileToMem(profile, bytes.data(), &size);
  cmsCloseProfile(profile);
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_colour_photo SOURCE.jpg OUT.jpg\n");
    return 1;
  }
  cv::Mat source = cv::imread(argv[1], cv::IMREAD_COLOR);
  if (source.empty()) return std::fprintf(stderr, "cannot read %s\n", argv[1]), 1;
  cv::Mat photo;
  cv::resize(source, photo, cv::Size(480, 320), 0, 0, cv::INTER_AREA);

  // The sRGB photo's colours, stored as Adobe RGB values: shown through the profile it looks
  // as before; shown without it, dull.
  const auto icc = adobe_rgb_profile();
  cmsHPROFILE srgb = cmsCreate_sRGBProfile();
  cmsHPROFILE adobe = cmsOpenProfileFromMem(icc.data(), static_cast<cmsUInt32Number>(icc.size()));
  cmsHTRANSFORM to_adobe = cmsCreateTransform(srgb, TYPE_BGR_8, adobe, TYPE_BGR_8, INTENT_RELATIVE_COLORIMETRIC, 0);
  cmsDoTransformLineStride(to_adobe, photo.data, photo.data, photo.cols, photo.rows, photo.step, photo.step, 0, 0);
  cmsDeleteTransform(to_adobe);
  cmsCloseProfile(adobe);
  cmsCloseProfile(srgb);
  // Flat patches of known Adobe RGB values, on whole 16x16 JPEG blocks (so they decode
  // nearly exactly), for tests of the conversion: RGB (60, 150, 200) and (40, 200, 70).
  photo(cv::Rect(16, 16, 48, 48)).setTo(cv::Scalar(200, 150, 60));
  photo(cv::Rect(80, 16, 48, 48)).setTo(cv::Scalar(70, 200, 40));

  // Stored turned a quarter counter-clockwise, with Orientation 6 (turn clockwise to show).
  cv::Mat stored;
  cv::rotate(photo, stored, cv::ROTATE_90_COUNTERCLOCKWISE);
  std::vector<unsigned char> jpeg;
  cv::imencode(".jpg", stored, jpeg, {cv::IMWRITE_JPEG_QUALITY, 95});

  try {
    auto image = Exiv2::ImageFactory::open(jpeg.data(), static_cast<long>(jpeg.size()));
    image->readMetadata();
    Exiv2::ExifData exif;
    exif["Exif.Image.Make"] = "forkpool";
    exif["Exif.Image.Model"] = "make-colour-photo";
    exif["Exif.Image.Orientation"] = uint16_t{6};
    exif["Exif.Image.DateTime"] = "2026:11:30 09:00:00";
    exif["Exif.Photo.DateTimeOriginal"] = "2026:11:30 09:00:00";
    exif["Exif.Photo.PixelXDimension"] = uint32_t(stored.cols);
    exif["Exif.Photo.PixelYDimension"] = uint32_t(stored.rows);
    exif["Exif.Photo.ColorSpace"] = uint16_t{0xffff};  // uncalibrated: what cameras write for Adobe RGB
    exif["Exif.Iop.InteroperabilityIndex"] = "R03";    // DCF's option file: Adobe RGB
    // The Royal Observatory, Greenwich: 51° 28' 40.12" N, 0° 0' 5.31" W, 46 m.
    exif["Exif.GPSInfo.GPSVersionID"] = "2 3 0 0";
    exif["Exif.GPSInfo.GPSLatitudeRef"] = "N";
    exif["Exif.GPSInfo.GPSLatitude"] = Exiv2::URationalValue();
    exif["Exif.GPSInfo.GPSLatitude"].setValue("51/1 28/1 4012/100");
    exif["Exif.GPSInfo.GPSLongitudeRef"] = "W";
    exif["Exif.GPSInfo.GPSLongitude"].setValue("0/1 0/1 531/100");
    exif["Exif.GPSInfo.GPSAltitudeRef"] = Exiv2::byte{0};
    exif["Exif.GPSInfo.GPSAltitude"] = Exiv2::URational(46, 1);
    image->setExifData(exif);
    Exiv2::XmpData xmp;
    xmp["Xmp.dc.creator"] = "forkpool test data";
    xmp["Xmp.dc.description"] = "lang=\"x-default\" Falcon 9 launch, in Adobe RGB";
    xmp["Xmp.tiff.Orientation"] = "6";
    image->setXmpData(xmp);
    Exiv2::IptcData iptc;
    iptc["Iptc.Application2.Keywords"] = "forkpool";
    iptc["Iptc.Application2.City"] = "Greenwich";
    image->setIptcData(iptc);
    Exiv2::DataBuf profile(icc.data(), static_cast<long>(icc.size()));
    image->setIccProfile(profile);
    image->writeMetadata();
    Exiv2::BasicIo& io = image->io();
    io.seek(0, Exiv2::BasicIo::beg);
    Exiv2::DataBuf out = io.read(static_cast<long>(io.size()));
    FILE* f = std::fopen(argv[2], "wb");
    if (f == nullptr || std::fwrite(out.pData_, 1, out.size_, f) != static_cast<size_t>(out.size_) || std::fclose(f) != 0)
      return std::fprintf(stderr, "cannot write %s\n", argv[2]), 1;
  } catch (const Exiv2::AnyError& e) {
    std::fprintf(stderr, "exiv2: %s\n", e.what());
    return 1;
  }
  return 0;
}
