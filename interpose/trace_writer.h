// The trace file of one process: naming, safe creation, the header, and
// buffered writes that turn tracing off (with one line on stderr) instead of
// disturbing the program when the file cannot be written.
#ifndef HEAPGAP_INTERPOSE_TRACE_WRITER_H_
#define HEAPGAP_INTERPOSE_TRACE_WRITER_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "interpose/options.h"
#include "interpose/wire_encoder.h"

namespace heapgap {

struct ProcessInfo {
  pid_t pid = 0;
  pid_t parent_pid = 0;
  bool forked = false;
  uint64_t start_time_unix_ns = 0;
  uint64_t start_time_mono_ns = 0;
  uint64_t heap_start = 0;
};

// Writes one line to stderr unless the options say quiet.
void ReportProblem(const Options& options, const char* message);

class TraceWriter {
 public:
  static constexpr size_t kBufferBytes = 1 << 20;

  // Creates the file (never following a symlink, never overwriting: ".N" is
  // appended until the name is free; mode 0600) and writes the header. On
  // failure reports one line and stays inactive.
  bool Open(const Options& options, const ProcessInfo& process);
  bool active() const { return fd_ >= 0; }
  const char* path() const { return path_; }

  // The buffer records are appended to. Call MakeRoom first.
  wire::Writer& buffer() { return buffer_; }
  // Writes buffered bytes out when fewer than `bytes` remain free. False when
  // tracing has stopped.
  bool MakeRoom(size_t bytes);
  // Writes everything buffered to the file.
  bool Drain();
  // Writes a record too large for the buffer, after what is buffered.
  bool WriteDirect(const uint8_t* data, size_t n) { return Drain() && WriteAll(data, n); }
  // Stops tracing: reports `why` once and forgets the file.
  void Disable(const char* why, int error);
  // In a fork child: the inherited descriptor belongs to the parent's trace.
  void AbandonInheritedFile();

 private:
  bool WriteAll(const uint8_t* data, size_t n);
  bool WriteHeader(const Options& options, const ProcessInfo& process);

  const Options* options_ = nullptr;
  int fd_ = -1;
  dev_t device_ = 0;
  ino_t inode_ = 0;
  uint64_t offset_ = 0;
  uint64_t size_limit_ = UINT64_MAX;
  uint8_t* storage_ = nullptr;
  wire::Writer buffer_;
  char path_[Options::kPathCapacity + 16] = "";
};

}  // namespace heapgap

#endif  // HEAPGAP_INTERPOSE_TRACE_WRITER_H_
