// Finds the traces in a directory, e.g. the output directory of a test suite
// run under `heapgap run -o DIR/`.
#ifndef HEAPGAP_VIEWER_TRACE_DIRECTORY_H_
#define HEAPGAP_VIEWER_TRACE_DIRECTORY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace heapgap::viewer {

// The regular files directly in `directory` that begin like a heapgap trace,
// or whose name ends in ".trace" or ".trace.N" (so that an empty or damaged
// trace is listed too), sorted by name. An error names the directory.
absl::StatusOr<std::vector<std::string>> TracesIn(const std::string& directory);

}  // namespace heapgap::viewer

#endif  // HEAPGAP_VIEWER_TRACE_DIRECTORY_H_
