#include "report/view_progress.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_format.h"

namespace heapgap::report {

ProgressLine::ProgressLine(bool wanted) : enabled_(wanted && isatty(STDERR_FILENO) == 1) {}

void ProgressLine::Show(absl::string_view text, bool force) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (shown_ && !force && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  shown_ = true;
  // Carriage return, the text, then erase to the end of the line.
  std::fprintf(stderr, "\r%.*s\033[K", static_cast<int>(text.size()), text.data());
  std::fflush(stderr);
}

void ProgressLine::Clear() {
  if (!shown_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  shown_ = false;
}

ReadProgress::ReadProgress(ProgressLine& line, const std::string& path, AnalysisObserver* next)
    : line_(line), next_(next) {
  const size_t slash = path.rfind('/');
  name_ = slash == std::string::npos ? path : path.substr(slash + 1);
  struct stat st;
  if (stat(path.c_str(), &st) == 0) file_bytes_ = static_cast<uint64_t>(st.st_size);
}

void ReadProgress::OnRecord(const trace::Record& record, uint64_t bytes_read) {
  if (next_ != nullptr) next_->OnRecord(record, bytes_read);
  // Looking at the clock for every record would cost more than reading it.
  if (!line_.enabled() || ++records_ % 256 != 0 || file_bytes_ == 0) return;
  line_.Show(absl::StrFormat("heapgap: reading %s: %.0f%% of %.1f MB", name_,
                             100.0 * static_cast<double>(bytes_read) / static_cast<double>(file_bytes_),
                             static_cast<double>(file_bytes_) / 1e6));
}

void ReadProgress::OnEvent(const Event& event, const HeapReplay& replay) {
  if (next_ != nullptr) next_->OnEvent(event, replay);
}

}  // namespace heapgap::report
