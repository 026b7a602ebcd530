// libFuzzer target: any bytes, taken as a trace file, go through everything
// `heapgap report` and `heapgap run` do with a trace: the reader, order
// restoration and heap replay (AnalyzeTrace), the report builder, and the
// text, JSON and summary outputs. No input may crash, hang, or make memory
// grow beyond what libFuzzer's -rss_limit_mb / -malloc_limit_mb allow.
//
// Stacks are symbolized with addresses only: module paths in a fuzzed trace
// name arbitrary files, and opening them would make runs depend on the
// machine rather than on the input.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "google/protobuf/stubs/logging.h"
#include "report/json_report.h"
#include "report/report.h"
#include "report/stack_symbolizer.h"
#include "report/text_report.h"
#include "report/trace_analysis.h"

namespace {

// Stops the run with a message libFuzzer shows along with the input.
[[noreturn]] void Violated(const char* what) {
  std::fprintf(stderr, "trace_fuzzer: invariant violated: %s\n", what);
  std::abort();
}

// The input as a file the reader can open by path: a memfd, rewritten for
// every input, named through /proc/self/fd.
class InputFile {
 public:
  InputFile() : fd_(memfd_create("fuzzed-trace", MFD_CLOEXEC)) {
    if (fd_ < 0) Violated("memfd_create failed");
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  const std::string& Hold(const uint8_t* data, size_t size) {
    if (ftruncate(fd_, 0) != 0) Violated("ftruncate failed");
    size_t done = 0;
    while (done < size) {
      ssize_t n = pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      if (n <= 0) Violated("pwrite failed");
      done += static_cast<size_t>(n);
    }
    return path_;
  }

 private:
  int fd_;
  std::string path_;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Bad input is reported through statuses; libprotobuf's log would only
  // repeat it on every run.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace heapgap::report;
  static InputFile* input = new InputFile();
  const std::string& path = input->Hold(data, size);

  absl::StatusOr<std::unique_ptr<TraceAnalysis>> analysis = AnalyzeTrace(path);
  if (!analysis.ok()) {
    // Errors reach users as one line.
    const absl::string_view message = analysis.status().message();
    if (message.empty()) Violated("an error without a message");
    if (message.find('\n') != absl::string_view::npos) Violated("a multi-line error message");
    return 0;
  }
  const TraceAnalysis& a = **analysis;
  const HeapTotals& totals = a.replay.totals();
  if (totals.frees > totals.allocations) Violated("more frees than allocations");
  if (a.replay.peak_bytes() < a.replay.live_bytes()) Violated("peak below the final live bytes");
  if (a.replay.peak_blocks() > totals.allocations) Violated("more blocks at the peak than allocations");
  if (a.replay.live_blocks() > totals.allocations - totals.frees) Violated("live blocks miscounted");

  ReportOptions options;
  options.top = 5;
  options.max_records = 20;
  StackSymbolizer symbolizer = StackSymbolizer::AddressesOnly();
  const Report report = BuildReport(a, options, symbolizer);
  if (report.leaked_bytes > report.peak_bytes) Violated("leaks exceed the peak");
  const std::string json = JsonReport(report);
  if (json.empty() || json.front() != '{') Violated("the JSON report is not an object");
  const std::string text = TextReport(report, options.top);
  const std::string summary = SummaryLines(a, "==1== ");
  if (text.empty() || summary.empty()) Violated("an empty report");
  return 0;
}
