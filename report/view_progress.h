// Progress of long offline work on stderr, shown only when stderr is a
// terminal: one line rewritten in place a few times a second, cleared when
// the work is done.
#ifndef HEAPGAP_REPORT_VIEW_PROGRESS_H_
#define HEAPGAP_REPORT_VIEW_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "report/trace_analysis.h"

namespace heapgap::report {

class ProgressLine {
 public:
  // Shows nothing unless `wanted` and stderr is a terminal.
  explicit ProgressLine(bool wanted);
  ~ProgressLine() { Clear(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool enabled() const { return enabled_; }
  // Replaces the line with `text`, unless the line changed less than a
  // fifth of a second ago and `force` is false.
  void Show(absl::string_view text, bool force = false);
  void Clear();

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_;
};

// Shows how much of a trace AnalyzeTrace has read, and passes everything on
// to `next` (may be null).
class ReadProgress : public AnalysisObserver {
 public:
  ReadProgress(ProgressLine& line, const std::string& path, AnalysisObserver* next);

  void OnRecord(const trace::Record& record, uint64_t bytes_read) override;
  void OnEvent(const Event& event, const HeapReplay& replay) override;

 private:
  ProgressLine& line_;
  std::string name_;
  uint64_t file_bytes_ = 0;
  uint64_t records_ = 0;
  AnalysisObserver* next_;
};

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_VIEW_PROGRESS_H_
