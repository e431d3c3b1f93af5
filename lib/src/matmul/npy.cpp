#include "forkpool/matmul/npy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "forkpool/ipc/output_file.hpp"
#include "forkpool/ipc/shared_memory.hpp"
#include "forkpool/ipc/sys_call.hpp"
#include "forkpool/ipc/unique_fd.hpp"
#include "forkpool/matmul/kernels.hpp"

namespace forkpool::matmul {

std::string_view to_string(Dtype d) noexcept { return d == Dtype::f32 ? "f32" : "f64"; }

std::optional<Dtype> parse_dtype(std::string_view name) noexcept {
  if (name == "f32" || name == "float32") return Dtype::f32;
  if (name == "f64" || name == "float64") return Dtype::f64;
  return std::nullopt;
}

std::size_t size_of(Dtype d) noexcept { return d == Dtype::f32 ? 4 : 8; }

std::size_t NpyHeader::element_count() const noexcept {
  std::size_t n = 1;
  for (std::size_t s : shape) n *= s;
  return n;
}

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) out += fmt::format("{}{}", i ? ", " : "", shape[i]);
  if (shape.size() == 1) out += ",";
  return out + ")";
}

// Text from a file, for a message: printable ASCII as it is, any other byte as \xNN, cut short
// after 40 characters, so that a message stays one readable line whatever the file holds.
std::string printable(std::string_view text) {
  constexpr std::size_t kLongest = 40;
  std::string out;
  for (unsigned char c : text.substr(0, kLongest)) {
    if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
    else out += fmt::format("\\x{:02x}", c);
  }
  if (text.size() > kLongest) out += "...";
  return out;
}

// The header is a Python dict literal such as
//   {'descr': '<f8', 'fortran_order': False, 'shape': (3, 5), }
// This reads exactly that grammar: quoted keys, a quoted string, True/False, a tuple of ints.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, std::string_view name) : text_(text), name_(name) {}

  NpyHeader parse() {
    NpyHeader header;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      std::string key = quoted();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (peek() == '[') fail("a structured dtype is not a matrix of numbers");
        header.dtype = dtype_of(quoted());
        have_descr = true;
      } else if (key == "fortran_order") {
        header.fortran_order = boolean();
        have_order = true;
      } else if (key == "shape") {
        header.shape = tuple();
        have_shape = true;
      } else {
        fail(fmt::format("unexpected key '{}'", printable(key)));
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') fail("expected ',' or '}'");
    }
    ++pos_;
    for (; pos_ < text_.size(); ++pos_)
      if (text_[pos_] != ' ' && text_[pos_] != '\n' && text_[pos_] != '\0') fail("text after '}'");
    if (!have_descr || !have_order || !have_shape)
      fail("it needs the keys 'descr', 'fortran_order' and 'shape'");
    return header;
  }

 private:
  [[noreturn]] void fail(std::string_view why) const {
    throw NpyError(fmt::format("{}: unparsable .npy header ({})", name_, why));
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n'))
      ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(fmt::format("expected '{}'", c));
    ++pos_;
  }
  std::string quoted() {
    skip_space();
    char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string s(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    if (text_.substr(pos_, 4) == "True") return pos_ += 4, true;
    if (text_.substr(pos_, 5) == "False") return pos_ += 5, false;
    fail("'fortran_order' is neither True nor False");
  }
  std::vector<std::size_t> tuple() {
    std::vector<std::size_t> out;
    expect('(');
    for (;;) {
      skip_space();
      if (peek() == ')') break;
      std::size_t value = 0;
      std::size_t digits = 0;
      for (; pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9'; ++pos_, ++digits) {
        if (value > (SIZE_MAX - 9) / 10) fail("a dimension is too large");
        value = value * 10 + static_cast<std::size_t>(text_[pos_] - '0');
      }
      if (digits == 0) fail("'shape' is not a tuple of non-negative integers");
      if (peek() == 'L') ++pos_;  // Python 2 wrote long integers with a suffix
      out.push_back(value);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') fail("expected ',' or ')' in 'shape'");
    }
    ++pos_;
    return out;
  }
  Dtype dtype_of(const std::string& descr) const {
    if (descr == "<f8") return Dtype::f64;
    if (descr == "<f4") return Dtype::f32;
    if (descr == ">f8" || descr == ">f4")
      throw NpyError(fmt::format("{}: big-endian data ('{}') is not supported; convert it with "
                                 "a.astype('<{}')",
                                 name_, descr, descr.substr(1)));
    throw NpyError(fmt::format("{}: dtype '{}' is not supported (only float32 '<f4' and float64 "
                               "'<f8')",
                               name_, printable(descr)));
  }

  std::string_view text_;
  std::string_view name_;
  std::size_t pos_ = 0;
};

std::uint32_t little_endian(const std::byte* p, std::size_t bytes) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < bytes; ++i) v |= std::to_integer<std::uint32_t>(p[i]) << (8 * i);
  return v;
}

}  // namespace

NpyHeader parse_npy_header(std::span<const std::byte> file, std::string_view name) {
  if (file.size() < kMagicSize || std::memcmp(file.data(), kMagic, kMagicSize) != 0)
    throw NpyError(fmt::format("{}: not an .npy file (bad magic string)", name));
  if (file.size() < 10) throw NpyError(fmt::format("{}: truncated .npy header", name));
  int major = std::to_integer<int>(file[6]);
  int minor = std::to_integer<int>(file[7]);
  if (major < 1 || major > 3 || minor != 0)
    throw NpyError(fmt::format("{}: .npy format version {}.{} is not supported (1.0, 2.0, 3.0)",
                               name, major, minor));
  std::size_t length_bytes = major == 1 ? 2 : 4;
  std::size_t start = 8 + length_bytes;
  if (file.size() < start) throw NpyError(fmt::format("{}: truncated .npy header", name));
  std::size_t length = little_endian(file.data() + 8, length_bytes);
  if (length > kMaxNpyHeaderBytes)
    throw NpyError(fmt::format("{}: .npy header of {} bytes is too long (at most {})", name, length,
                               kMaxNpyHeaderBytes));
  if (file.size() - start < length) throw NpyError(fmt::format("{}: truncated .npy header", name));
  std::string_view text(reinterpret_cast<const char*>(file.data() + start), length);
  NpyHeader header = HeaderParser(text, name).parse();
  header.major_version = major;
  header.data_offset = start + length;
  return header;
}

NpyHeader check_npy_matrix(std::span<const std::byte> head, std::uint64_t file_size,
                           std::string_view name) {
  if (file_size < kMagicSize) throw NpyError(fmt::format("{}: not an .npy file (bad magic string)", name));
  NpyHeader h = parse_npy_header(head.first(std::min<std::uint64_t>(head.size(), file_size)), name);
  if (h.shape.size() != 2)
    throw NpyError(fmt::format("{}: shape {} is not a matrix (forkpool multiplies 2-D arrays)",
                               name, shape_text(h.shape)));
  if (h.shape[0] == 0 || h.shape[1] == 0)
    throw NpyError(fmt::format("{}: shape {} is an empty matrix", name, shape_text(h.shape)));
  std::size_t elements = h.element_count();
  if (elements / h.shape[0] != h.shape[1] || elements > SIZE_MAX / size_of(h.dtype))
    throw NpyError(fmt::format("{}: shape {} is too large", name, shape_text(h.shape)));
  std::size_t need = elements * size_of(h.dtype);
  std::uint64_t have = file_size - h.data_offset;  // the header lies inside the file
  if (have < need)
    throw NpyError(fmt::format("{}: truncated: shape {} of {} needs {} bytes of data, the file has {}",
                               name, shape_text(h.shape), to_string(h.dtype), need, have));
  return h;
}

namespace {

std::int64_t nanoseconds(const timespec& t) {
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// Element data is converted through a buffer of about this size when its type or order is
// not the destination's; otherwise it is read straight into place.
constexpr std::size_t kConvertBytes = std::size_t{4} << 20;

}  // namespace

NpyFile NpyFile::open(const std::filesystem::path& path) {
  NpyFile f;
  f.name_ = path.string();
  auto fd = ipc::sys_call("open", f.name_, [&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
  if (!fd) throw NpyError(fmt::format("cannot read {}", fd.error().message()));
  f.fd_ = ipc::UniqueFd(*fd);
  struct stat st {};
  if (auto r = ipc::sys_call("fstat", f.name_, [&] { return ::fstat(f.fd_.get(), &st); }); !r)
    throw NpyError(fmt::format("cannot read {}", r.error().message()));
  if (!S_ISREG(st.st_mode)) throw NpyError(fmt::format("{}: not a regular file", f.name_));
  f.size_ = static_cast<std::uint64_t>(st.st_size);
  f.mtime_ns_ = nanoseconds(st.st_mtim);

  std::vector<std::byte> head(std::min<std::uint64_t>(f.size_, kNpyHeadBytes));
  std::size_t got = 0;
  while (got < head.size()) {
    auto n = ipc::sys_call("read", f.name_, [&] {
      return ::pread(f.fd_.get(), head.data() + got, head.size() - got, static_cast<off_t>(got));
    });
    if (!n) throw NpyError(fmt::format("cannot read {}", n.error().message()));
    if (*n == 0) f.changed();
    got += static_cast<std::size_t>(*n);
  }
  f.header_ = check_npy_matrix(head, f.size_, f.name_);
  // The data is read once, front to back.
  ::posix_fadvise(f.fd_.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return f;
}

std::size_t NpyFile::data_bytes() const noexcept {
  return header_.element_count() * size_of(header_.dtype);
}

void NpyFile::changed() const {
  throw NpyError(fmt::format("{}: changed while reading", name_));
}

void NpyFile::check_unchanged() const {
  struct stat st {};
  if (auto r = ipc::sys_call("fstat", name_, [&] { return ::fstat(fd_.get(), &st); }); !r)
    throw NpyError(fmt::format("cannot read {}", r.error().message()));
  if (static_cast<std::uint64_t>(st.st_size) != size_ || nanoseconds(st.st_mtim) != mtime_ns_)
    changed();
}

void NpyFile::read_at(std::size_t offset, std::span<std::byte> out) const {
  std::uint64_t at = header_.data_offset + offset;
  std::size_t got = 0;
  while (got < out.size()) {
    // Linux moves at most about 2 GiB a call.
    std::size_t chunk = std::min<std::size_t>(out.size() - got, std::size_t{1} << 30);
    auto n = ipc::sys_call("read", name_, [&] {
      return ::pread(fd_.get(), out.data() + got, chunk, static_cast<off_t>(at + got));
    });
    if (!n) throw NpyError(fmt::format("cannot read {}", n.error().message()));
    if (*n == 0) changed();  // shorter than it was at open()
    got += static_cast<std::size_t>(*n);
  }
}

void NpyFile::read_row_major(Dtype dtype, std::byte* dst) const {
  const std::size_t total = header_.element_count();
  if (dtype == header_.dtype && !header_.fortran_order) {
    read_at(0, {dst, data_bytes()});
  } else {
    const std::size_t es = size_of(header_.dtype);
    // Whole columns of a Fortran-order matrix per piece where they fit, for the transposition.
    std::size_t per_piece = std::max<std::size_t>(1, kConvertBytes / es);
    if (header_.fortran_order && rows() <= per_piece) per_piece = per_piece / rows() * rows();
    std::vector<std::byte> piece(std::min(per_piece, total) * es);
    for (std::size_t first = 0; first < total; first += per_piece) {
      std::size_t count = std::min(per_piece, total - first);
      read_at(first * es, {piece.data(), count * es});
      copy_range_to_row_major(dtype, dst, header_.dtype, piece.data(), header_.fortran_order,
                              rows(), cols(), first, count);
    }
  }
  check_unchanged();
}

std::vector<std::byte> NpyFile::read_data() const {
  std::vector<std::byte> out(data_bytes());
  read_at(0, out);
  check_unchanged();
  return out;
}

std::string npy_header(Dtype dtype, std::size_t rows, std::size_t cols) {
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}, {}), }}",
                                 dtype == Dtype::f32 ? "<f4" : "<f8", rows, cols);
  // magic (6) + version (2) + length (2) + dict + padding + '\n', a multiple of 64 bytes.
  std::size_t total = (10 + dict.size() + 1 + 63) / 64 * 64;
  std::size_t length = total - 10;
  std::string out(kMagic, kMagicSize);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(length & 0xff);
  out += static_cast<char>(length >> 8);
  out += dict;
  out.append(total - out.size() - 1, ' ');
  out += '\n';
  return out;
}

void write_npy(const std::filesystem::path& path, Dtype dtype, std::size_t rows, std::size_t cols,
               std::span<const std::byte> data) {
  if (data.size() != rows * cols * size_of(dtype))
    throw std::logic_error("write_npy: data size does not match the shape");
  const std::string header = npy_header(dtype, rows, cols);
  auto fail = [](const ipc::SysError& e) { throw std::runtime_error(e.message()); };
  auto file = ipc::OutputFile::open(path, {.remove_stale = true});
  if (!file) fail(file.error());
  if (auto r = file->write(std::as_bytes(std::span(header.data(), header.size()))); !r) fail(r.error());
  if (auto r = file->write(data); !r) fail(r.error());
  if (auto r = file->commit(); !r) fail(r.error());
}

}  // namespace forkpool::matmul
