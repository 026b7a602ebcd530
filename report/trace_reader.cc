#include "report/trace_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace heapgap::report {
namespace {

constexpr size_t kInitialBufferBytes = 1 << 20;
constexpr int kMaxVarintBytes = 10;

std::string Quoted(const std::string& path) { return absl::StrCat("'", path, "'"); }

absl::Status NotATrace(const std::string& path) {
  return absl::InvalidArgumentError(absl::StrCat(Quoted(path), " is not a heapgap trace"));
}

// True when `bytes` could be the beginning of a trace whose first record is a
// Header with the magic first: varint(record length), tag of Record.header,
// varint(header length), tag and length of Header.magic, the magic itself.
bool CouldStartATrace(const char* bytes, size_t size) {
  size_t i = 0;
  auto skip_varint = [&]() -> bool {  // false when the bytes run out
    for (int n = 0; n < kMaxVarintBytes; ++n) {
      if (i == size) return false;
      if ((static_cast<unsigned char>(bytes[i++]) & 0x80) == 0) return true;
    }
    return true;
  };
  auto expect = [&](unsigned char c) -> bool {
    return i == size || static_cast<unsigned char>(bytes[i++]) == c;
  };
  if (!skip_varint()) return true;
  if (!expect(0x0A)) return false;  // Record.header, length-delimited
  if (i == size) return true;
  if (!skip_varint()) return true;
  if (!expect(0x0A)) return false;  // Header.magic, length-delimited
  if (!expect(static_cast<unsigned char>(kTraceMagic.size()))) return false;
  for (char c : kTraceMagic) {
    if (!expect(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

TraceReader::TraceReader(std::string path, int fd)
    : path_(std::move(path)), fd_(fd), buffer_(kInitialBufferBytes) {}

TraceReader::~TraceReader() { close(fd_); }

absl::StatusOr<std::unique_ptr<TraceReader>> TraceReader::Open(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    if (error == ENOENT) {
      return absl::NotFoundError(absl::StrCat(Quoted(path), ": no such file"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open ", Quoted(path), ": ", std::strerror(error)));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat(Quoted(path), " is a directory"));
  }
  std::unique_ptr<TraceReader> reader(new TraceReader(path, fd));
  absl::Status status = reader->ReadHeader();
  if (!status.ok()) return status;
  return reader;
}

bool TraceReader::Fill(size_t want) {
  if (end_ - begin_ >= want) return true;
  if (at_eof_) return false;
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  while (end_ < want) {
    // Grow only as data arrives: a corrupt record length must not allocate
    // memory the file does not have.
    if (end_ == buffer_.size()) buffer_.resize(std::min(want, buffer_.size() * 2));
    ssize_t n = read(fd_, buffer_.data() + end_, buffer_.size() - end_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      io_error_ = absl::DataLossError(absl::StrCat("cannot read ", Quoted(path_), " at byte offset ",
                                                   consumed_ + end_, ": ", std::strerror(errno)));
    }
    if (n <= 0) {
      at_eof_ = true;
      return false;
    }
    end_ += static_cast<size_t>(n);
  }
  return true;
}

TraceReader::Frame TraceReader::NextFrame(const char** data, size_t* size) {
  record_offset_ = consumed_;
  record_index_ = records_read_ + 1;
  if (!Fill(1)) return Frame::kEnd;
  uint64_t length = 0;
  int varint_bytes = 0;
  for (;;) {
    if (varint_bytes == kMaxVarintBytes) {
      bad_length_ = UINT64_MAX;
      return Frame::kBadLength;
    }
    if (!Fill(varint_bytes + 1)) {
      trailing_bytes_ = end_ - begin_;
      return Frame::kCutShort;
    }
    auto byte = static_cast<unsigned char>(buffer_[begin_ + varint_bytes]);
    length |= static_cast<uint64_t>(byte & 0x7F) << (7 * varint_bytes);
    ++varint_bytes;
    if ((byte & 0x80) == 0) break;
  }
  if (length == 0) {
    // No writer emits an empty record; zero bytes at the end are the padding
    // a file system leaves after a crash. Anything else is corruption.
    uint64_t zeros = 0;
    if (!RestIsZeros(&zeros)) {
      bad_length_ = 0;
      return Frame::kBadLength;
    }
    trailing_bytes_ = zeros;
    return Frame::kZeroPadding;
  }
  if (length > kMaxRecordBytes) {
    bad_length_ = length;
    return Frame::kBadLength;
  }
  size_t total = varint_bytes + static_cast<size_t>(length);
  if (!Fill(total)) {
    trailing_bytes_ = end_ - begin_;
    return Frame::kCutShort;
  }
  *data = buffer_.data() + begin_ + varint_bytes;
  *size = static_cast<size_t>(length);
  begin_ += total;
  consumed_ += total;
  return Frame::kRecord;
}

bool TraceReader::RestIsZeros(uint64_t* count) {
  uint64_t zeros = 0;
  for (;;) {
    for (size_t i = begin_; i < end_; ++i) {
      if (buffer_[i] != 0) return false;
    }
    zeros += end_ - begin_;
    consumed_ += end_ - begin_;
    begin_ = end_;
    if (!Fill(1)) break;
  }
  *count = zeros;
  return io_error_.ok();
}

absl::Status TraceReader::ReadHeader() {
  const char* data = nullptr;
  size_t size = 0;
  switch (NextFrame(&data, &size)) {
    case Frame::kEnd:
      if (!io_error_.ok()) return io_error_;
      return absl::InvalidArgumentError(absl::StrCat(Quoted(path_), " is empty"));
    case Frame::kCutShort:
      if (!io_error_.ok()) return io_error_;
      if (CouldStartATrace(buffer_.data() + begin_, end_ - begin_)) {
        return absl::DataLossError(absl::StrCat(Quoted(path_),
                                                " is cut short inside its header (the file has ",
                                                end_ - begin_, " bytes)"));
      }
      return NotATrace(path_);
    case Frame::kZeroPadding:
    case Frame::kBadLength:
      return NotATrace(path_);
    case Frame::kRecord:
      break;
  }
  if (!record_.ParseFromArray(data, static_cast<int>(size)) || !record_.has_header() ||
      record_.header().magic() != kTraceMagic) {
    return NotATrace(path_);
  }
  header_ = record_.header();
  ++records_read_;
  if (header_.format_version() > kSupportedFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        Quoted(path_), " has trace format version ", header_.format_version(),
        ", newer than this heapgap supports (", kSupportedFormatVersion, "); use a newer heapgap"));
  }
  if (header_.format_version() == 0) {
    return absl::DataLossError(
        absl::StrCat(Quoted(path_), " is corrupt: its header has no format version"));
  }
  return absl::OkStatus();
}

absl::StatusOr<const trace::Record*> TraceReader::Next() {
  for (;;) {
    const char* data = nullptr;
    size_t size = 0;
    switch (NextFrame(&data, &size)) {
      case Frame::kEnd:
        if (!io_error_.ok()) return io_error_;
        return nullptr;
      case Frame::kCutShort:
      case Frame::kZeroPadding:
        if (!io_error_.ok()) return io_error_;
        ends_mid_record_ = true;
        return nullptr;
      case Frame::kBadLength:
        if (bad_length_ == 0) return CorruptRecord("empty record followed by data");
        if (bad_length_ == UINT64_MAX) return CorruptRecord("malformed record length");
        return CorruptRecord(absl::StrCat("impossible record length ", bad_length_));
      case Frame::kRecord:
        break;
    }
    ++records_read_;
    if (!record_.ParseFromArray(data, static_cast<int>(size))) {
      // The last record of a file the writer never finished may hold zeros
      // (file systems zero-fill after a crash): that is a truncation.
      uint64_t zeros = 0;
      if (RestIsZeros(&zeros)) {
        ends_mid_record_ = true;
        trailing_bytes_ = size + zeros;
        return nullptr;
      }
      return CorruptRecord("the record cannot be parsed");
    }
    switch (record_.kind_case()) {
      case trace::Record::KIND_NOT_SET:
        continue;  // a kind added by a newer writer
      case trace::Record::kHeader:
        return CorruptRecord("a second header");
      default:
        return &record_;
    }
  }
}

absl::Status TraceReader::CorruptRecord(absl::string_view what) const {
  return absl::DataLossError(absl::StrCat(Quoted(path_), " is corrupt: record ", record_index_,
                                          " at byte offset ", record_offset_, ": ", what));
}

}  // namespace heapgap::report
