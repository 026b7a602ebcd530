// Streams the records of a trace file one at a time, with memory bounded by
// the largest record.
//
// A trace is a sequence of varint-length-delimited heapgap.trace.Record
// messages (proto/trace.proto). The reader checks the header, parses each
// record, and tells a trace that simply stops (a prefix: the process crashed
// or was killed, possibly in the middle of a write) from a corrupt one. Any
// prefix that holds a complete header is readable.
#ifndef HEAPGAP_REPORT_TRACE_READER_H_
#define HEAPGAP_REPORT_TRACE_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "trace.pb.h"

namespace heapgap::report {

inline constexpr absl::string_view kTraceMagic = "heapgap-trace";
inline constexpr uint32_t kSupportedFormatVersion = 1;
// No writer produces records anywhere near this; a larger length means the
// bytes are not a trace.
inline constexpr uint64_t kMaxRecordBytes = 256u << 20;

class TraceReader {
 public:
  // Opens `path` and reads its header. Errors, each a one-line message naming
  // the file: no such file, a directory, an empty file, not a heapgap trace, a
  // trace cut inside its header, a newer format version, a corrupt header.
  static absl::StatusOr<std::unique_ptr<TraceReader>> Open(const std::string& path);

  ~TraceReader();
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;

  const std::string& path() const { return path_; }
  const trace::Header& header() const { return header_; }

  // The next record after the header, valid until the following call, or
  // nullptr at the end of the readable data. Records of kinds this reader does
  // not know (written by a newer heapgap) are skipped. A record that is
  // complete but cannot be parsed, or a length no record can have, is an error.
  absl::StatusOr<const trace::Record*> Next();

  // An error for a record that parsed but whose contents are inconsistent
  // (e.g. columns of different lengths), naming the current record.
  absl::Status CorruptRecord(absl::string_view what) const;

  // After Next() returned nullptr: true when the file's last bytes did not form
  // a complete record (the writer was stopped in the middle of a record).
  bool ends_mid_record() const { return ends_mid_record_; }
  // Bytes after the last complete record (mid-record tail or zero padding).
  uint64_t trailing_bytes() const { return trailing_bytes_; }
  // Records read so far, the header included.
  uint64_t records_read() const { return records_read_; }
  uint64_t bytes_read() const { return consumed_; }

 private:
  TraceReader(std::string path, int fd);

  // Outcome of framing one record from the byte stream.
  enum class Frame { kRecord, kEnd, kCutShort, kZeroPadding, kBadLength };
  Frame NextFrame(const char** data, size_t* size);
  // Consumes the rest of the file; true when it is all zero bytes (or
  // nothing), with their number in `count`.
  bool RestIsZeros(uint64_t* count);
  // Makes at least `want` bytes available from begin_; false at end of file.
  bool Fill(size_t want);
  absl::Status ReadHeader();

  std::string path_;
  int fd_;
  bool at_eof_ = false;
  absl::Status io_error_;
  std::vector<char> buffer_;
  size_t begin_ = 0;  // first unconsumed byte in buffer_
  size_t end_ = 0;    // one past the last valid byte in buffer_
  uint64_t consumed_ = 0;       // file offset of buffer_[begin_]
  uint64_t record_offset_ = 0;  // file offset of the current record's length
  uint64_t record_index_ = 0;   // 1-based index of the current record
  uint64_t bad_length_ = 0;
  uint64_t records_read_ = 0;
  uint64_t trailing_bytes_ = 0;
  bool ends_mid_record_ = false;
  trace::Header header_;
  trace::Record record_;
};

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_TRACE_READER_H_
