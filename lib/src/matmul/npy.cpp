#include "forkpool/matmul/npy.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cstring>
#include <utility>

#include "forkpool/ipc/output_file.hpp"
#include "forkpool/ipc/shared_memory.hpp"
#include "forkpool/ipc/sys_call.hpp"
#include "forkpool/ipc/unique_fd.hpp"

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
        fail(fmt::format("unexpected key '{}'", key));
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
                               name_, descr));
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
  if (file.size() - start < length) throw NpyError(fmt::format("{}: truncated .npy header", name));
  std::string_view text(reinterpret_cast<const char*>(file.data() + start), length);
  NpyHeader header = HeaderParser(text, name).parse();
  header.major_version = major;
  header.data_offset = start + length;
  return header;
}

NpyFile NpyFile::open(const std::filesystem::path& path) {
  NpyFile f;
  f.name_ = path.string();
  auto fd = ipc::sys_call("open", f.name_, [&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
  if (!fd) throw NpyError(fmt::format("cannot read {}", fd.error().message()));
  ipc::UniqueFd owned(*fd);
  struct stat st {};
  if (auto r = ipc::sys_call("fstat", f.name_, [&] { return ::fstat(owned.get(), &st); }); !r)
    throw NpyError(fmt::format("cannot read {}", r.error().message()));
  if (!S_ISREG(st.st_mode)) throw NpyError(fmt::format("{}: not a regular file", f.name_));
  auto size = static_cast<std::size_t>(st.st_size);
  if (size < kMagicSize) throw NpyError(fmt::format("{}: not an .npy file (bad magic string)", f.name_));
  auto map = ipc::sys_call("mmap", f.name_, [&] {
    return ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, owned.get(), 0);
  });
  if (!map) throw NpyError(fmt::format("cannot read {}", map.error().message()));
  f.map_ = static_cast<const std::byte*>(*map);
  f.map_size_ = size;

  f.header_ = parse_npy_header({f.map_, f.map_size_}, f.name_);
  const auto& h = f.header_;
  if (h.shape.size() != 2)
    throw NpyError(fmt::format("{}: shape {} is not a matrix (forkpool multiplies 2-D arrays)",
                               f.name_, shape_text(h.shape)));
  if (h.shape[0] == 0 || h.shape[1] == 0)
    throw NpyError(fmt::format("{}: shape {} is an empty matrix", f.name_, shape_text(h.shape)));
  std::size_t elements = h.element_count();
  if (elements / h.shape[0] != h.shape[1] || elements > SIZE_MAX / size_of(h.dtype))
    throw NpyError(fmt::format("{}: shape {} is too large", f.name_, shape_text(h.shape)));
  std::size_t need = elements * size_of(h.dtype);
  std::size_t have = size - h.data_offset;
  if (have < need)
    throw NpyError(fmt::format("{}: truncated: shape {} of {} needs {} bytes of data, the file has {}",
                               f.name_, shape_text(h.shape), to_string(h.dtype), need, have));
  // The data is read once, front to back (C order) or in column strips (Fortran order).
  ::madvise(const_cast<std::byte*>(f.map_), f.map_size_, h.fortran_order ? MADV_WILLNEED : MADV_SEQUENTIAL);
  return f;
}

NpyFile::NpyFile(NpyFile&& other) noexcept
    : name_(std::move(other.name_)),
      map_(std::exchange(other.map_, nullptr)),
      map_size_(std::exchange(other.map_size_, 0)),
      header_(std::move(other.header_)) {}

NpyFile& NpyFile::operator=(NpyFile&& other) noexcept {
  if (this != &other) {
    release();
    name_ = std::move(other.name_);
    map_ = std::exchange(other.map_, nullptr);
    map_size_ = std::exchange(other.map_size_, 0);
    header_ = std::move(other.header_);
  }
  return *this;
}

NpyFile::~NpyFile() { release(); }

void NpyFile::release() noexcept {
  if (map_) ::munmap(const_cast<std::byte*>(map_), map_size_);
  map_ = nullptr;
  map_size_ = 0;
}

std::span<const std::byte> NpyFile::data() const noexcept {
  return {map_ + header_.data_offset, header_.element_count() * size_of(header_.dtype)};
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
