// libjpeg's compressor with its errors turned into ImageError.

#include "jpeg_encoder.hpp"

// jpeglib.h needs size_t and FILE declared before it.
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include <jpeglib.h>

#include <fmt/core.h>

namespace forkpool::images {

namespace {

// libjpeg's default error handler calls exit(); this one jumps back to encode_jpeg with the
// message. libjpeg is C: no exception may cross it, hence the jump.
struct JpegErrorJump {
  jpeg_error_mgr manager;  // first, so libjpeg's pointer to it is a pointer to this
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jump_on_error(j_common_ptr info) {
  auto* error = reinterpret_cast<JpegErrorJump*>(info->err);
  (*info->err->format_message)(info, error->message);
  std::longjmp(error->jump, 1);
}

// What libjpeg works on, owned by encode_jpeg, outside compress(): objects that are local to
// the function that calls setjmp and change before the jump are indeterminate after it.
struct Compression {
  jpeg_compress_struct info{};
  JpegErrorJump error{};
  unsigned char* buffer = nullptr;  // malloc'd by libjpeg's memory destination
  unsigned long size = 0;
};

// false, with libjpeg's message in c.error, when libjpeg failed.
bool compress(Compression& c, const cv::Mat& pixels, int quality, bool progressive,
              JpegSubsampling subsampling) {
  if (setjmp(c.error.jump)) return false;
  jpeg_create_compress(&c.info);
  jpeg_mem_dest(&c.info, &c.buffer, &c.size);
  c.info.image_width = static_cast<JDIMENSION>(pixels.cols);
  c.info.image_height = static_cast<JDIMENSION>(pixels.rows);
  c.info.input_components = pixels.channels();
  c.info.in_color_space = pixels.channels() == 3 ? JCS_EXT_BGR : JCS_GRAYSCALE;
  jpeg_set_defaults(&c.info);
  jpeg_set_quality(&c.info, quality, TRUE);
  if (pixels.channels() == 3) {
    // Luma's factors against the chroma planes' 1x1: 2x2 is 4:2:0, 2x1 4:2:2, 1x1 4:4:4.
    c.info.comp_info[0].h_samp_factor = subsampling == JpegSubsampling::s444 ? 1 : 2;
    c.info.comp_info[0].v_samp_factor = subsampling == JpegSubsampling::s420 ? 2 : 1;
  }
  if (progressive) jpeg_simple_progression(&c.info);
  jpeg_start_compress(&c.info, TRUE);
  while (c.info.next_scanline < c.info.image_height) {
    JSAMPROW row = const_cast<JSAMPLE*>(pixels.ptr<JSAMPLE>(static_cast<int>(c.info.next_scanline)));
    jpeg_write_scanlines(&c.info, &row, 1);
  }
  jpeg_finish_compress(&c.info);
  return true;
}

}  // namespace

std::vector<unsigned char> encode_jpeg(const cv::Mat& pixels, int quality, bool progressive,
                                       JpegSubsampling subsampling) {
  CV_Assert(pixels.depth() == CV_8U && (pixels.channels() == 1 || pixels.channels() == 3));
  Compression c;
  c.info.err = jpeg_std_error(&c.error.manager);
  c.error.manager.error_exit = jump_on_error;
  const bool ok = compress(c, pixels, quality, progressive, subsampling);
  jpeg_destroy_compress(&c.info);  // also after a failure part-way, or before create
  const std::unique_ptr<unsigned char, decltype(&std::free)> owned(c.buffer, &std::free);
  if (!ok) throw ImageError(fmt::format("cannot encode jpeg: {}", c.error.message));
  return {c.buffer, c.buffer + c.size};
}

}  // namespace forkpool::images
