#include "interpose/trace_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "interpose/support.h"
#include "interpose/trace_encoding.h"

namespace heapgap {
namespace {

constexpr char kDefaultName[] = "heapgap.%e.%p.trace";
constexpr uint32_t kFormatVersion = 1;

// Reads a small /proc file without stdio. Returns bytes read or -1.
ssize_t ReadProcFile(const char* path, char* buf, size_t capacity) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t total = 0;
  while (total < capacity) {
    ssize_t n = read(fd, buf + total, capacity - total);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    total += static_cast<size_t>(n);
  }
  close(fd);
  return static_cast<ssize_t>(total);
}

const char* ExecutablePath() {
  static char path[Options::kPathCapacity];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  path[n > 0 ? n : 0] = '\0';
  return path;
}

const char* Basename(const char* path) {
  const char* slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

void ExpandPattern(const char* pattern, pid_t pid, const char* exe_name, StringBuilder& out) {
  for (const char* p = pattern; *p; ++p) {
    if (*p != '%' || p[1] == '\0') {
      out.Add(p, 1);
      continue;
    }
    ++p;
    if (*p == 'p') {
      out.AddUint(static_cast<uint64_t>(pid));
    } else if (*p == 'e') {
      out.Add(exe_name);
    } else if (*p == '%') {
      out.Add("%");
    } else {
      out.Add("%").Add(p, 1);
    }
  }
}

bool IsDirectory(const char* path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void AppendToManifest(const char* manifest, const char* trace_path) {
  if (!manifest[0]) return;
  int fd = open(manifest, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return;
  char line[Options::kPathCapacity * 2 + 2];
  StringBuilder b(line, sizeof line);
  if (trace_path[0] != '/') {
    char cwd[Options::kPathCapacity];
    if (getcwd(cwd, sizeof cwd)) b.Add(cwd).Add("/");
  }
  b.Add(trace_path).Add("\n");
  // One write with O_APPEND: lines from concurrent processes do not mix.
  ssize_t ignored = write(fd, line, b.size());
  (void)ignored;
  close(fd);
}

}  // namespace

void ReportProblem(const Options& options, const char* message) {
  if (options.quiet) return;
  char line[1024];
  StringBuilder b(line, sizeof line - 1);
  b.Add(message).Add("\n");
  ssize_t ignored = write(STDERR_FILENO, line, b.size());
  (void)ignored;
}

bool TraceWriter::Open(const Options& options, const ProcessInfo& process) {
  options_ = &options;
  if (!storage_) {
    storage_ = static_cast<uint8_t*>(MapPages(kBufferBytes));
    if (!storage_) return false;
  }
  buffer_ = wire::Writer(storage_, kBufferBytes);

  const char* exe_name = Basename(ExecutablePath());
  char base[Options::kPathCapacity];
  StringBuilder name(base, sizeof base);
  const size_t pattern_len = strlen(options.output);
  if (options.output[pattern_len - 1] == '/' || IsDirectory(options.output)) {
    ExpandPattern(options.output, process.pid, exe_name, name);
    if (options.output[pattern_len - 1] != '/') name.Add("/");
    ExpandPattern(kDefaultName, process.pid, exe_name, name);
  } else {
    ExpandPattern(options.output, process.pid, exe_name, name);
  }

  int fd = -1;
  int error = 0;
  for (int attempt = 0; attempt < 1000 && fd < 0; ++attempt) {
    StringBuilder candidate(path_, sizeof path_);
    candidate.Add(base);
    if (attempt > 0) candidate.Add(".").AddUint(static_cast<uint64_t>(attempt));
    fd = open(path_, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    error = errno;
    if (fd < 0 && error != EEXIST) break;
  }
  if (fd < 0) {
    char message[Options::kPathCapacity + 128];
    StringBuilder m(message, sizeof message);
    m.Add("heapgap: cannot create trace file ").Add(base).Add(": ").Add(strerrordesc_np(error));
    m.Add("; tracing disabled");
    ReportProblem(options, message);
    return false;
  }
  // Keep the trace away from the low descriptors programs use and close.
  int high = fcntl(fd, F_DUPFD_CLOEXEC, 500);
  if (high >= 0) {
    close(fd);
    fd = high;
  }
  struct stat st;
  fstat(fd, &st);
  device_ = st.st_dev;
  inode_ = st.st_ino;
  fd_ = fd;
  offset_ = 0;
  struct rlimit limit;
  size_limit_ = (getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
                    ? static_cast<uint64_t>(limit.rlim_cur)
                    : UINT64_MAX;
  AppendToManifest(options.manifest, path_);
  return WriteHeader(options, process);
}

bool TraceWriter::WriteHeader(const Options& options, const ProcessInfo& process) {
  static uint8_t header_storage[72 * 1024];
  wire::Writer h(header_storage, sizeof header_storage);
  h.StringField(1, "heapgap-trace");
  h.UintField(2, kFormatVersion);
  h.StringField(3, HEAPGAP_VERSION);
  h.IntField(4, process.pid);
  h.IntField(5, process.parent_pid);
  h.StringField(6, ExecutablePath());
  // argv from /proc/self/cmdline (NUL-separated), at most 64 KiB of it.
  static char cmdline[64 * 1024];
  ssize_t n = ReadProcFile("/proc/self/cmdline", cmdline, sizeof cmdline);
  for (ssize_t i = 0; i < n;) {
    size_t len = strnlen(cmdline + i, static_cast<size_t>(n - i));
    // Keep empty arguments: they matter to the command line.
    h.Varint(wire::Tag(7, wire::kLengthDelimited));
    h.Varint(len);
    h.Raw(cmdline + i, len);
    i += static_cast<ssize_t>(len) + 1;
  }
  h.UintField(8, process.start_time_unix_ns);
  h.UintField(9, process.start_time_mono_ns);
  h.UintField(10, static_cast<uint64_t>(sysconf(_SC_PAGESIZE)));
  h.UintField(11, static_cast<uint64_t>(options.stack_depth));
  h.BoolField(12, process.forked);
  h.StringField(13, gnu_get_libc_version());
  h.UintField(14, process.heap_start);
  if (!MakeRoom(h.size() + 16) || !AppendRecord(kRecordHeader, h, buffer_)) {
    Disable("cannot encode the trace header", 0);
    return false;
  }
  return Drain();
}

bool TraceWriter::MakeRoom(size_t bytes) {
  if (fd_ < 0) return false;
  if (buffer_.remaining() >= bytes) return true;
  return Drain() && buffer_.remaining() >= bytes;
}

bool TraceWriter::Drain() {
  if (fd_ < 0) {
    buffer_.Clear();
    return false;
  }
  if (buffer_.size() == 0) return true;
  // The program may have closed our descriptor and reused its number.
  struct stat st;
  if (fstat(fd_, &st) != 0 || st.st_dev != device_ || st.st_ino != inode_) {
    fd_ = -1;
    Disable("the trace file descriptor was closed by the program", 0);
    return false;
  }
  bool ok = WriteAll(buffer_.data(), buffer_.size());
  buffer_.Clear();
  return ok;
}

bool TraceWriter::WriteAll(const uint8_t* data, size_t n) {
  // Never write past RLIMIT_FSIZE: the kernel would send SIGXFSZ, which kills
  // the program. Stopping before keeps the file a clean prefix too.
  if (offset_ + n > size_limit_) {
    Disable("the trace reached the file size limit (RLIMIT_FSIZE)", 0);
    return false;
  }
  while (n > 0) {
    ssize_t written = write(fd_, data, n);
    if (written < 0) {
      if (errno == EINTR) continue;
      Disable("cannot write the trace", errno);
      return false;
    }
    data += written;
    n -= static_cast<size_t>(written);
    offset_ += static_cast<uint64_t>(written);
  }
  return true;
}

void TraceWriter::Disable(const char* why, int error) {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  buffer_.Clear();
  if (!options_) return;
  char message[Options::kPathCapacity + 256];
  StringBuilder m(message, sizeof message);
  m.Add("heapgap: ").Add(why);
  if (path_[0]) m.Add(" ").Add(path_);
  if (error) m.Add(": ").Add(strerrordesc_np(error));
  m.Add("; tracing stopped, the program continues");
  ReportProblem(*options_, message);
}

void TraceWriter::AbandonInheritedFile() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  buffer_.Clear();
  path_[0] = '\0';
}

}  // namespace heapgap
