// Puts the page's embedded files and the data of one or more traces together
// into one self-contained HTML file: no network, no server.
#ifndef HEAPGAP_VIEWER_VIEW_PAGE_H_
#define HEAPGAP_VIEWER_VIEW_PAGE_H_

#include <cstddef>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "report/view_data.h"
#include "report/view_progress.h"

namespace heapgap::viewer {

// One traced process's data, as the page embeds it.
struct PageProcess {
  std::string report_json;  // the JSON report (docs/REPORT_JSON.md), compact
  std::string view_json;    // report::ViewDataJson()
};

struct PageOptions {
  // Most records in each of the report's stack lists the page shows.
  size_t max_records = 1000;
  report::ViewOptions view;
};

// Reads the trace at `path` once and makes the page's data for it. Progress
// goes to `progress`. Errors are AnalyzeTrace's.
absl::StatusOr<PageProcess> BuildPageProcess(const std::string& path, const PageOptions& options,
                                             report::ProgressLine& progress);

// The page for one trace.
std::string TracePage(const PageProcess& process);

// A row of a directory's page: a trace, and either the index of its data in
// `processes` or the reason it could not be read.
struct DirectoryEntry {
  std::string trace;
  int process = -1;
  std::string error;
};

// The page for a directory of traces: a table of processes, each opening
// its own view.
std::string DirectoryPage(const std::string& directory, const std::vector<DirectoryEntry>& entries,
                          const std::vector<PageProcess>& processes);

// `json` without the white space between its tokens.
std::string CompactJson(absl::string_view json);

}  // namespace heapgap::viewer

#endif  // HEAPGAP_VIEWER_VIEW_PAGE_H_
