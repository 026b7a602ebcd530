// The leak check's parts of the text and JSON reports: memcheck's LEAK
// SUMMARY, release errors with their stacks, and what each suppression matched.
#ifndef HEAPGAP_REPORT_LEAK_OUTPUT_H_
#define HEAPGAP_REPORT_LEAK_OUTPUT_H_

#include <string>
#include <vector>

#include "report/json_writer.h"
#include "report/leak_check.h"
#include "symbolizer/symbolizer.h"

namespace heapgap::report {

// "LEAK SUMMARY:" and one line per kind, as memcheck writes them
// ("   definitely lost: 1,000 bytes in 10 blocks"), then suppressed and
// unchecked blocks and the notes. Each line starts with `prefix`.
std::string LeakSummaryText(const LeakCheck& check, const std::string& prefix = "");
// "ERRORS:" with each release error and its stacks; empty when there are none.
std::string ReleaseErrorsText(const LeakCheck& check);
// "SUPPRESSIONS USED:" with what each matched; empty when none matched.
std::string SuppressionsUsedText(const LeakCheck& check);

// A frame as the text report writes it: "function (file:line)".
std::string FrameText(const SymbolizedFrame& frame);

// JSON: a frame object (docs/REPORT_JSON.md, FRAME), and a stack as an array.
void WriteFrameJson(const SymbolizedFrame& frame, JsonWriter& w);
void WriteStackJson(const std::vector<SymbolizedFrame>& stack, JsonWriter& w);
// The members the leak check adds to the "leaks" object: one {bytes, blocks}
// per kind, "suppressed", "checked", "scan", "notes".
void WriteLeakKindsJson(const LeakCheck& check, JsonWriter& w);
// The value of the top-level "errors" member: an array.
void WriteReleaseErrorsJson(const LeakCheck& check, JsonWriter& w);
// The value of the top-level "suppressions" member: an array.
void WriteSuppressionsJson(const LeakCheck& check, JsonWriter& w);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_LEAK_OUTPUT_H_
