// Files CI systems read: JUnit XML and SARIF 2.1.0, for the reports of one
// run (one trace, or all traces of a test suite).
//
// JUnit: one testsuite "heapgap", a testcase per traced process, a failure
// per leak record that counts for the gate (and per release error when the
// gate counts errors); the LEAK SUMMARY as the testcase's system-out.
// SARIF: one run of the tool "heapgap", a result per unsuppressed leak
// record and release error, with the source location of the innermost frame
// that has one and the whole stack; level "error" for what counts for the
// gate, "warning" for other lost blocks and errors, "note" for the rest.
#ifndef HEAPGAP_REPORT_CI_OUTPUT_H_
#define HEAPGAP_REPORT_CI_OUTPUT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "report/gate.h"
#include "report/report.h"

namespace heapgap::report {

std::string JUnitXml(const std::vector<const Report*>& reports, const GateOptions& options,
                     const GateResult& gate);

std::string SarifJson(const std::vector<const Report*>& reports, const GateOptions& options,
                      const GateResult& gate);

// `text` with XML's special characters escaped; characters XML 1.0 cannot
// hold (most control characters, invalid UTF-8) become U+FFFD.
std::string XmlEscape(absl::string_view text);

// An absolute path as a file: URI, other paths as relative URI references,
// with everything outside RFC 3986's unreserved characters and '/' encoded.
std::string FileUri(absl::string_view path);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_CI_OUTPUT_H_
