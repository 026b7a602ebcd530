#include "report/ci_output.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "report/format.h"
#include "report/json_writer.h"
#include "report/leak_output.h"
#include "report/op.h"

namespace heapgap::report {
namespace {

constexpr char kSarifSchema[] =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

// Length of the valid UTF-8 sequence at text[i], 0 if invalid.
size_t Utf8Length(absl::string_view text, size_t i) {
  const unsigned char c = static_cast<unsigned char>(text[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
  }
  if (n == 2 && c < 0xC2) return 0;  // overlong
  return n;
}

std::string ExecutableName(const ProcessFacts& p) {
  const size_t slash = p.executable.rfind('/');
  return slash == std::string::npos ? p.executable : p.executable.substr(slash + 1);
}

// The innermost frame with a source location, preferring the program's own
// files over system headers and libraries; nullptr when none has one.
const SymbolizedFrame* SourceFrame(const std::vector<SymbolizedFrame>& stack) {
  const SymbolizedFrame* any = nullptr;
  for (const SymbolizedFrame& f : stack) {
    if (f.file.empty() || f.line <= 0) continue;
    if (f.file.rfind("/usr/", 0) != 0) return &f;
    if (any == nullptr) any = &f;
  }
  return any;
}

std::string Where(const std::vector<SymbolizedFrame>& stack) {
  return stack.empty() ? std::string("(no stack recorded)") : FrameText(stack[0]);
}

std::string StackText(const std::vector<SymbolizedFrame>& stack) {
  std::string out;
  for (size_t i = 0; i < stack.size(); ++i) absl::StrAppend(&out, "#", i, " ", FrameText(stack[i]), "\n");
  return out;
}

std::string LeakMessage(const StackRecord& r, const Report& report) {
  return absl::StrCat(WithThousands(r.bytes), " bytes in ", Count(r.blocks, "block", "blocks"), " ",
                      r.blocks == 1 ? "is " : "are ", LeakKindText(r.kind), ", allocated at ",
                      Where(r.stack), " (process ", report.process.pid, ", ",
                      ExecutableName(report.process), ")");
}

std::string ErrorMessage(const ReleaseErrorRecord& r, const Report& report) {
  const ReleaseError& e = r.error;
  std::string what =
      e.kind == ReleaseErrorKind::kMismatched
          ? absl::StrCat(OpFunctionName(e.free_op), " of a block from ", OpFunctionName(e.alloc_op))
          : absl::StrCat(OpFunctionName(e.free_op), " of ", HexAddress(e.address),
                         ", which was never allocated");
  return absl::StrCat(e.kind == ReleaseErrorKind::kMismatched ? "Mismatched release: "
                                                              : "Invalid release: ",
                      what, e.count > 1 ? absl::StrCat(" (", e.count, " times)") : "",
                      ", released at ", Where(r.free_stack), " (process ", report.process.pid,
                      ", ", ExecutableName(report.process), ")");
}

uint64_t Fnv1a(absl::string_view text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

struct Rule {
  const char* id;
  const char* text;
};
constexpr Rule kRules[] = {
    {"definitely_lost", "Heap blocks no pointer refers to at exit"},
    {"indirectly_lost", "Heap blocks referred to only by lost blocks at exit"},
    {"possibly_lost", "Heap blocks referred to only by pointers into their middle at exit"},
    {"still_reachable", "Heap blocks still referred to at exit, never freed"},
    {"unchecked", "Heap blocks in use when the process ended without a leak scan"},
    {"mismatched_free", "A block released by a function of another family than its allocator's"},
    {"invalid_free", "A release of a pointer that was never allocated"},
};

int RuleIndex(absl::string_view id) {
  for (size_t i = 0; i < std::size(kRules); ++i) {
    if (id == kRules[i].id) return static_cast<int>(i);
  }
  return -1;
}

void WriteLocation(const SymbolizedFrame& f, JsonWriter& w, bool with_region) {
  w.BeginObject();
  w.Key("physicalLocation");
  w.BeginObject();
  w.Key("artifactLocation");
  w.BeginObject();
  w.Key("uri");
  w.String(FileUri(f.file));
  w.EndObject();
  if (with_region) {
    w.Key("region");
    w.BeginObject();
    w.Key("startLine");
    w.Int(f.line);
    w.EndObject();
  }
  w.EndObject();
  if (!f.function.empty()) {
    w.Key("logicalLocations");
    w.BeginArray();
    w.BeginObject();
    w.Key("fullyQualifiedName");
    w.String(f.function);
    w.Key("kind");
    w.String("function");
    w.EndObject();
    w.EndArray();
  }
  w.EndObject();
}

void WriteSarifStack(const std::vector<SymbolizedFrame>& stack, absl::string_view message,
                     JsonWriter& w) {
  w.BeginObject();
  w.Key("message");
  w.BeginObject();
  w.Key("text");
  w.String(message);
  w.EndObject();
  w.Key("frames");
  w.BeginArray();
  for (const SymbolizedFrame& f : stack) {
    w.BeginObject();
    if (!f.file.empty()) {
      w.Key("location");
      WriteLocation(f, w, f.line > 0);
    } else if (!f.function.empty()) {
      w.Key("location");
      w.BeginObject();
      w.Key("logicalLocations");
      w.BeginArray();
      w.BeginObject();
      w.Key("fullyQualifiedName");
      w.String(f.function);
      w.Key("kind");
      w.String("function");
      w.EndObject();
      w.EndArray();
      w.EndObject();
    }
    w.Key("module");
    w.String(f.module.empty() ? HexAddress(f.address)
                              : absl::StrCat(f.module, "+", HexAddress(f.module_offset)));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void WriteResult(absl::string_view rule, absl::string_view level, absl::string_view message,
                 const std::vector<SymbolizedFrame>& stack, absl::string_view stack_label,
                 const std::vector<SymbolizedFrame>* second_stack, absl::string_view fingerprint,
                 const Report& report, JsonWriter& w) {
  w.BeginObject();
  w.Key("ruleId");
  w.String(rule);
  w.Key("ruleIndex");
  w.Int(RuleIndex(rule));
  w.Key("level");
  w.String(level);
  w.Key("message");
  w.BeginObject();
  w.Key("text");
  w.String(message);
  w.EndObject();
  w.Key("locations");
  w.BeginArray();
  if (const SymbolizedFrame* source = SourceFrame(stack)) WriteLocation(*source, w, true);
  w.EndArray();
  w.Key("partialFingerprints");
  w.BeginObject();
  w.Key("heapgapStack/v1");
  w.String(absl::StrFormat("%016x", Fnv1a(fingerprint)));
  w.EndObject();
  w.Key("stacks");
  w.BeginArray();
  WriteSarifStack(stack, stack_label, w);
  if (second_stack != nullptr && !second_stack->empty()) {
    WriteSarifStack(*second_stack, "allocated at", w);
  }
  w.EndArray();
  w.Key("properties");
  w.BeginObject();
  w.Key("pid");
  w.Int(report.process.pid);
  w.Key("executable");
  w.String(report.process.executable);
  w.Key("trace");
  w.String(report.trace);
  w.EndObject();
  w.EndObject();
}

}  // namespace

std::string XmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    switch (c) {
      case '&': out += "&amp;"; ++i; continue;
      case '<': out += "&lt;"; ++i; continue;
      case '>': out += "&gt;"; ++i; continue;
      case '"': out += "&quot;"; ++i; continue;
      case '\'': out += "&apos;"; ++i; continue;
      default: break;
    }
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\n' && c != '\t' && c != '\r') {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    const size_t n = Utf8Length(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    out.append(text.data() + i, n);
    i += n;
  }
  return out;
}

std::string FileUri(absl::string_view path) {
  std::string out = path.empty() || path[0] != '/' ? "" : "file://";
  for (unsigned char c : path) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

std::string JUnitXml(const std::vector<const Report*>& reports, const GateOptions& options,
                     const GateResult& gate) {
  size_t failing_cases = 0;
  std::string cases;
  for (size_t i = 0; i < reports.size(); ++i) {
    const Report& r = *reports[i];
    std::string failures;
    for (size_t j = 0; j < r.leaks.records.size(); ++j) {
      if (i >= gate.record_counts.size() || !gate.record_counts[i][j]) continue;
      const StackRecord& rec = r.leaks.records[j];
      absl::StrAppend(&failures, "      <failure type=\"", LeakKindName(rec.kind), "\" message=\"",
                      XmlEscape(LeakMessage(rec, r)), "\">", XmlEscape(StackText(rec.stack)),
                      "</failure>\n");
    }
    if (options.fail_on_errors) {
      for (const ReleaseErrorRecord& e : r.leak_check.errors) {
        absl::StrAppend(&failures, "      <failure type=\"", ReleaseErrorKindName(e.error.kind),
                        "\" message=\"", XmlEscape(ErrorMessage(e, r)), "\">",
                        XmlEscape(StackText(e.free_stack)), "</failure>\n");
      }
    }
    if (!failures.empty()) ++failing_cases;
    const std::string name = absl::StrCat(
        ExecutableName(r.process), " (pid ", r.process.pid, ")",
        r.process.argv.size() > 1
            ? absl::StrCat(": ", absl::StrJoin(r.process.argv.begin() + 1, r.process.argv.end(), " "))
            : "");
    absl::StrAppend(&cases, "    <testcase name=\"", XmlEscape(name), "\" classname=\"heapgap.",
                    XmlEscape(ExecutableName(r.process)), "\" time=\"",
                    absl::StrFormat("%.3f", r.process.duration_ns / 1e9), "\">\n", failures,
                    "      <system-out>", XmlEscape(LeakSummaryText(r.leak_check)),
                    "</system-out>\n    </testcase>\n");
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  absl::StrAppend(&out, "<testsuites name=\"heapgap\" tests=\"", reports.size(), "\" failures=\"",
                  failing_cases, "\" errors=\"0\">\n");
  absl::StrAppend(&out, "  <testsuite name=\"heapgap\" tests=\"", reports.size(), "\" failures=\"",
                  failing_cases, "\" errors=\"0\">\n", cases);
  absl::StrAppend(&out, "    <system-out>",
                  XmlEscape(gate.failed ? absl::StrCat("gate failed: ", gate.reason)
                                        : std::string("gate passed")),
                  "</system-out>\n  </testsuite>\n</testsuites>\n");
  return out;
}

std::string SarifJson(const std::vector<const Report*>& reports, const GateOptions& options,
                      const GateResult& gate) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("$schema");
  w.String(kSarifSchema);
  w.Key("version");
  w.String("2.1.0");
  w.Key("runs");
  w.BeginArray();
  w.BeginObject();
  w.Key("tool");
  w.BeginObject();
  w.Key("driver");
  w.BeginObject();
  w.Key("name");
  w.String("heapgap");
  w.Key("version");
  w.String(HEAPGAP_VERSION);
  w.Key("rules");
  w.BeginArray();
  for (const Rule& rule : kRules) {
    w.BeginObject();
    w.Key("id");
    w.String(rule.id);
    w.Key("shortDescription");
    w.BeginObject();
    w.Key("text");
    w.String(rule.text);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndObject();

  w.Key("results");
  w.BeginArray();
  for (size_t i = 0; i < reports.size(); ++i) {
    const Report& r = *reports[i];
    for (size_t j = 0; j < r.leaks.records.size(); ++j) {
      const StackRecord& rec = r.leaks.records[j];
      const bool counts = i < gate.record_counts.size() && gate.record_counts[i][j];
      const bool lost = rec.kind == LeakKind::kDefinitelyLost ||
                        rec.kind == LeakKind::kIndirectlyLost || rec.kind == LeakKind::kPossiblyLost;
      WriteResult(LeakKindName(rec.kind), counts ? "error" : lost ? "warning" : "note",
                  LeakMessage(rec, r), rec.stack, "allocated at", nullptr,
                  LeakStackKey(rec.kind, rec.stack), r, w);
    }
    for (const ReleaseErrorRecord& e : r.leak_check.errors) {
      const absl::string_view rule = ReleaseErrorKindName(e.error.kind);
      WriteResult(rule, options.fail_on_errors ? "error" : "warning", ErrorMessage(e, r),
                  e.free_stack, "released at", &e.alloc_stack,
                  absl::StrCat(rule, LeakStackKey(LeakKind::kUnchecked, e.free_stack)), r, w);
    }
  }
  w.EndArray();

  w.Key("invocations");
  w.BeginArray();
  w.BeginObject();
  w.Key("executionSuccessful");
  w.Bool(true);
  if (gate.failed) {
    w.Key("exitCodeDescription");
    w.String(absl::StrCat("gate failed: ", gate.reason));
  }
  w.EndObject();
  w.EndArray();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return out;
}

}  // namespace heapgap::report
