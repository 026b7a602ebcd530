// The trace's allocation stacks as a pprof profile (pprof's profile.proto,
// report/pprof/profile.proto), readable by `pprof`, `go tool pprof` and the
// tools that take pprof files.
#ifndef HEAPGAP_REPORT_EXPORT_PPROF_H_
#define HEAPGAP_REPORT_EXPORT_PPROF_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "profile.pb.h"
#include "report/export_stacks.h"
#include "report/stack_symbolizer.h"
#include "report/trace_analysis.h"

namespace heapgap::report {

// One sample per allocation stack, with a value per sample type, in this
// order: alloc_objects (count), alloc_space (bytes), peak_inuse_objects,
// peak_inuse_space (live at the peak of the live heap), leak_objects,
// leak_space (in use at exit), temporary_objects. Summed over the samples
// each equals the report's total. The default sample type is
// peak_inuse_space. One location per return address (address - 1, the call
// site), its lines the inlined calls innermost first; one mapping per module.
perftools::profiles::Profile BuildPprofProfile(const TraceAnalysis& analysis,
                                               const std::vector<StackValues>& stacks,
                                               StackSymbolizer& symbolizer);

// `data` gzip-compressed, as pprof files are stored.
absl::StatusOr<std::string> Gzip(absl::string_view data);
// The inverse, for tests and tools that read pprof files.
absl::StatusOr<std::string> Gunzip(absl::string_view data);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_EXPORT_PPROF_H_
