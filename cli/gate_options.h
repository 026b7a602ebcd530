// The options `heapgap run` and `heapgap report` share for leak checking in
// CI: suppressions, the gate, a baseline, and JUnit/SARIF/JSON files.
#ifndef HEAPGAP_CLI_GATE_OPTIONS_H_
#define HEAPGAP_CLI_GATE_OPTIONS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/args.h"
#include "report/gate.h"
#include "report/report.h"
#include "report/suite.h"
#include "report/suppressions.h"

namespace heapgap::cli {

// The option specs, to append to a command's own.
std::vector<OptionSpec> GateOptionSpecs();

// The help text of those options.
extern const char kGateOptionsHelp[];

struct GateSettings {
  // A gate option was given (--fail-on, --fail-above-*, --baseline,
  // --error-exitcode, --gate): the command's exit status depends on the gate.
  bool enabled = false;
  report::GateOptions options;
  int exit_code = report::kGateFailedExitCode;
  std::unique_ptr<report::SuppressionSet> suppressions;
  std::optional<std::string> baseline_path;
  std::optional<std::string> junit_path;
  std::optional<std::string> sarif_path;
  std::optional<std::string> json_path;
  unsigned jobs = 0;  // analysis threads, 0 = one per core

  // Reports must keep every leak record: a baseline or CI file needs them.
  bool needs_all_records() const {
    return enabled || junit_path || sarif_path || json_path;
  }
};

// Reads the shared options (suppression files are parsed here).
absl::StatusOr<GateSettings> ParseGateSettings(const ParsedArgs& parsed);

// After the reports are built: loads the baseline, evaluates the gate,
// writes the requested files. Returns the gate result; errors are one line.
// `gate` is evaluated even when the gate is not enabled (CI files use it).
absl::StatusOr<report::GateResult> FinishReports(GateSettings& settings,
                                                 const report::ReportOptions& report_options,
                                                 const std::vector<report::TraceReport>& reports,
                                                 const std::string& json_directory);

// Writes `text` to `path`; an error names the file.
absl::Status WriteFile(const std::string& path, const std::string& text);

// Prints "heapgap: gate failed: REASON" on stderr.
void PrintGateFailure(const report::GateResult& gate);

}  // namespace heapgap::cli

#endif  // HEAPGAP_CLI_GATE_OPTIONS_H_
