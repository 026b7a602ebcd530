#include "cli/gate_options.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "report/ci_output.h"
#include "report/json_report.h"

namespace heapgap::cli {

const char kGateOptionsHelp[] =
    "Leak check and CI gate:\n"
    "  --suppressions FILE       suppress leaks matching a LeakSanitizer (leak:PATTERN)\n"
    "                            or valgrind ({ ... Memcheck:Leak ... }) suppression\n"
    "                            file; may be repeated\n"
    "  --no-default-suppressions do not suppress the blocks the C and C++ runtimes\n"
    "                            keep on purpose (docs/GATE.md lists them)\n"
    "  --fail-on KINDS           kinds that fail the gate: definite, indirect,\n"
    "                            possible, reachable, unchecked, errors, all, none\n"
    "                            (default definite,indirect)\n"
    "  --fail-above-bytes N      fail only when more than N bytes count\n"
    "  --fail-above-blocks N     fail only when more than N blocks count\n"
    "  --baseline FILE|DIR       count only leak stacks that are new or grew since this\n"
    "                            trace, directory of traces or JSON report, and fail\n"
    "                            when a program's peak grew beyond the tolerance\n"
    "  --peak-tolerance PCT      peak growth allowed against the baseline (default 10)\n"
    "  --error-exitcode N        exit status when the gate fails (default 99)\n"
    "  --gate                    gate with the defaults above\n"
    "  --junit FILE              also write a JUnit XML file\n"
    "  --sarif FILE              also write a SARIF 2.1.0 file\n"
    "  --json FILE               also write the JSON report\n"
    "  -j, --jobs N              traces analysed in parallel (default: one per core)\n"
    "The gate is on when any of --fail-on, --fail-above-bytes, --fail-above-blocks,\n"
    "--baseline, --error-exitcode or --gate is given.\n";

std::vector<OptionSpec> GateOptionSpecs() {
  return {
      {"suppressions", 0, true},     {"no-default-suppressions", 0, false},
      {"fail-on", 0, true},          {"fail-above-bytes", 0, true},
      {"fail-above-blocks", 0, true}, {"baseline", 0, true},
      {"peak-tolerance", 0, true},   {"error-exitcode", 0, true},
      {"gate", 0, false},            {"junit", 0, true},
      {"sarif", 0, true},            {"json", 0, true},
      {"jobs", 'j', true},
  };
}

absl::StatusOr<GateSettings> ParseGateSettings(const ParsedArgs& parsed) {
  GateSettings s;
  s.enabled = parsed.Has("fail-on") || parsed.Has("fail-above-bytes") ||
              parsed.Has("fail-above-blocks") || parsed.Has("baseline") ||
              parsed.Has("error-exitcode") || parsed.Has("gate");
  if (auto kinds = parsed.Value("fail-on")) {
    absl::StatusOr<report::GateOptions> options = report::ParseFailOn(*kinds, s.options);
    if (!options.ok()) return options.status();
    s.options = *options;
  }
  if (auto n = parsed.Value("fail-above-bytes")) {
    absl::StatusOr<uint64_t> bytes = ParseCount("fail-above-bytes", *n);
    if (!bytes.ok()) return bytes.status();
    s.options.max_bytes = *bytes;
  }
  if (auto n = parsed.Value("fail-above-blocks")) {
    absl::StatusOr<uint64_t> blocks = ParseCount("fail-above-blocks", *n);
    if (!blocks.ok()) return blocks.status();
    s.options.max_blocks = *blocks;
  }
  if (auto pct = parsed.Value("peak-tolerance")) {
    double value = 0;
    if (!absl::SimpleAtod(*pct, &value) || value < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "option '--peak-tolerance' needs a non-negative percentage, not '", *pct, "'"));
    }
    s.options.peak_tolerance_percent = value;
  }
  if (auto code = parsed.Value("error-exitcode")) {
    absl::StatusOr<uint64_t> n = ParseCount("error-exitcode", *code);
    if (!n.ok()) return n.status();
    if (*n < 1 || *n > 255) {
      return absl::InvalidArgumentError(
          absl::StrCat("option '--error-exitcode' must be 1..255, not ", *n));
    }
    s.exit_code = static_cast<int>(*n);
  }
  if (auto jobs = parsed.Value("jobs")) {
    absl::StatusOr<uint64_t> n = ParseCount("jobs", *jobs);
    if (!n.ok()) return n.status();
    s.jobs = static_cast<unsigned>(std::min<uint64_t>(*n, 1024));
  }
  s.baseline_path = parsed.Value("baseline");
  s.junit_path = parsed.Value("junit");
  s.sarif_path = parsed.Value("sarif");
  s.json_path = parsed.Value("json");
  s.suppressions = std::make_unique<report::SuppressionSet>();
  if (!parsed.Has("no-default-suppressions")) s.suppressions->AddBuiltIns();
  for (const std::string& file : parsed.Values("suppressions")) {
    if (absl::Status status = s.suppressions->AddFile(file); !status.ok()) return status;
  }
  return s;
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out << text;
  if (out) out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write '", path, "': ", std::strerror(errno)));
  return absl::OkStatus();
}

void PrintGateFailure(const report::GateResult& gate) {
  const std::string line = absl::StrReplaceAll(gate.reason, {{"\n", " "}});
  std::fprintf(stderr, "heapgap: gate failed: %s\n", line.c_str());
}

absl::StatusOr<report::GateResult> FinishReports(GateSettings& settings,
                                                 const report::ReportOptions& report_options,
                                                 const std::vector<report::TraceReport>& reports,
                                                 const std::string& json_directory) {
  std::optional<report::Baseline> baseline;
  if (settings.baseline_path) {
    absl::StatusOr<report::Baseline> loaded =
        report::LoadBaseline(*settings.baseline_path, report_options, settings.jobs);
    if (!loaded.ok()) return loaded.status();
    baseline = std::move(*loaded);
    settings.options.baseline = &*baseline;
  }
  const std::vector<const report::Report*> readable = report::Readable(reports);
  report::GateResult gate = report::EvaluateGate(readable, settings.options);
  settings.options.baseline = nullptr;  // `baseline` ends here

  size_t unreadable = reports.size() - readable.size();
  if (unreadable != 0 && settings.enabled) {
    gate.reason = absl::StrCat(gate.failed ? absl::StrCat(gate.reason, "; ") : "", unreadable,
                               unreadable == 1 ? " trace" : " traces", " could not be read");
    gate.failed = true;
  }
  if (settings.junit_path) {
    absl::Status written =
        WriteFile(*settings.junit_path, report::JUnitXml(readable, settings.options, gate));
    if (!written.ok()) return written;
  }
  if (settings.sarif_path) {
    absl::Status written =
        WriteFile(*settings.sarif_path, report::SarifJson(readable, settings.options, gate));
    if (!written.ok()) return written;
  }
  if (settings.json_path) {
    const std::string json = json_directory.empty() && reports.size() == 1 && reports[0].report
                                 ? report::JsonReport(*reports[0].report)
                                 : report::SuiteJson(json_directory, reports);
    absl::Status written = WriteFile(*settings.json_path, json);
    if (!written.ok()) return written;
  }
  return gate;
}

}  // namespace heapgap::cli
