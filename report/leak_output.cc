#include "report/leak_output.h"

#include "absl/strings/str_cat.h"
#include "report/format.h"
#include "report/op.h"

namespace heapgap::report {
namespace {

// memcheck's own wording: "N bytes in M blocks", plural whatever the count.
std::string BytesInBlocks(const ByteCount& c) {
  return absl::StrCat(WithThousands(c.bytes), " bytes in ", WithThousands(c.blocks), " blocks");
}

void AppendFrames(const std::vector<SymbolizedFrame>& stack, absl::string_view none,
                  std::string& out) {
  if (stack.empty()) {
    absl::StrAppend(&out, "      ", none, "\n");
    return;
  }
  for (size_t i = 0; i < stack.size(); ++i) {
    absl::StrAppend(&out, "      #", i, " ", FrameText(stack[i]), "\n");
  }
}

void WriteCount(absl::string_view key, const ByteCount& c, JsonWriter& w) {
  w.Key(key);
  w.BeginObject();
  w.Key("bytes");
  w.Uint(c.bytes);
  w.Key("blocks");
  w.Uint(c.blocks);
  w.EndObject();
}

}  // namespace

std::string FrameText(const SymbolizedFrame& f) {
  std::string where;
  if (!f.file.empty()) {
    where = f.line > 0 ? absl::StrCat(f.file, ":", f.line) : f.file;
  } else if (!f.module.empty()) {
    where = absl::StrCat(f.module, "+", HexAddress(f.module_offset));
  } else {
    where = "unknown module";
  }
  std::string text = f.function.empty() ? absl::StrCat(HexAddress(f.address), " (", where, ")")
                                         : absl::StrCat(f.function, " (", where, ")");
  if (f.inlined) text += " [inlined]";
  return text;
}

std::string LeakSummaryText(const LeakCheck& check, const std::string& prefix) {
  std::string out;
  absl::StrAppend(&out, prefix, "LEAK SUMMARY:\n");
  absl::StrAppend(&out, prefix, "   definitely lost: ",
                  BytesInBlocks(check.of(LeakKind::kDefinitelyLost)), "\n");
  absl::StrAppend(&out, prefix, "   indirectly lost: ",
                  BytesInBlocks(check.of(LeakKind::kIndirectlyLost)), "\n");
  absl::StrAppend(&out, prefix, "     possibly lost: ",
                  BytesInBlocks(check.of(LeakKind::kPossiblyLost)), "\n");
  absl::StrAppend(&out, prefix, "   still reachable: ",
                  BytesInBlocks(check.of(LeakKind::kStillReachable)), "\n");
  absl::StrAppend(&out, prefix, "        suppressed: ", BytesInBlocks(check.suppressed), "\n");
  const ByteCount& unchecked = check.of(LeakKind::kUnchecked);
  if (!check.scan || unchecked.blocks != 0) {
    absl::StrAppend(&out, prefix, "         unchecked: ", BytesInBlocks(unchecked),
                    check.scan ? "" : " (no leak scan)", "\n");
  }
  if (check.error_count != 0) {
    absl::StrAppend(&out, prefix, "            errors: ",
                    Count(check.error_count, "bad release", "bad releases"), "\n");
  }
  for (const std::string& note : check.notes) absl::StrAppend(&out, prefix, "note: ", note, "\n");
  return out;
}

std::string ReleaseErrorsText(const LeakCheck& check) {
  if (check.errors.empty()) return "";
  std::string out =
      absl::StrCat("\nERRORS: ", Count(check.error_count, "bad release", "bad releases"), "\n");
  for (const ReleaseErrorRecord& r : check.errors) {
    const ReleaseError& e = r.error;
    if (e.kind == ReleaseErrorKind::kMismatched) {
      absl::StrAppend(&out, "  Mismatched release: ", OpFunctionName(e.free_op), " of a block of ",
                      Count(e.size, "byte", "bytes"), " from ", OpFunctionName(e.alloc_op), " at ",
                      HexAddress(e.address), e.count > 1 ? absl::StrCat(" (", e.count, " times)") : "",
                      "\n    released at:\n");
      AppendFrames(r.free_stack, "(release stack not recorded)", out);
      out += "    allocated at:\n";
      AppendFrames(r.alloc_stack, "(no stack recorded)", out);
    } else {
      absl::StrAppend(&out, "  Invalid release: ", OpFunctionName(e.free_op), " of ",
                      HexAddress(e.address), ", which was never allocated",
                      e.count > 1 ? absl::StrCat(" (", e.count, " times)") : "",
                      "\n    released at:\n");
      AppendFrames(r.free_stack, "(release stack not recorded)", out);
    }
  }
  return out;
}

std::string SuppressionsUsedText(const LeakCheck& check) {
  std::string out;
  size_t unused = 0;
  for (const SuppressionUse& use : check.suppressions) {
    if (use.records == 0 && use.errors == 0) {
      ++unused;
      continue;
    }
    if (out.empty()) out = "\nSUPPRESSIONS USED:\n";
    absl::StrAppend(&out, "  ", use.name, " (", use.origin, "): ");
    if (use.records != 0) {
      absl::StrAppend(&out, Count(use.records, "record", "records"), ", ",
                      Count(use.bytes, "byte", "bytes"), " in ", Count(use.blocks, "block", "blocks"));
    }
    if (use.errors != 0) {
      absl::StrAppend(&out, use.records != 0 ? ", " : "", Count(use.errors, "error", "errors"));
    }
    out += "\n";
  }
  if (!out.empty() && unused != 0) {
    absl::StrAppend(&out, "  (", Count(unused, "other suppression", "other suppressions"),
                    " matched nothing)\n");
  }
  return out;
}

void WriteFrameJson(const SymbolizedFrame& frame, JsonWriter& w) {
  w.BeginObject();
  w.Key("function");
  w.String(frame.function);
  w.Key("file");
  w.String(frame.file);
  w.Key("line");
  w.Int(frame.line);
  w.Key("module");
  w.String(frame.module);
  w.Key("address");
  w.String(HexAddress(frame.address));
  w.Key("module_offset");
  w.String(HexAddress(frame.module_offset));
  w.Key("inlined");
  w.Bool(frame.inlined);
  w.EndObject();
}

void WriteStackJson(const std::vector<SymbolizedFrame>& stack, JsonWriter& w) {
  w.BeginArray();
  for (const SymbolizedFrame& frame : stack) WriteFrameJson(frame, w);
  w.EndArray();
}

void WriteLeakKindsJson(const LeakCheck& check, JsonWriter& w) {
  for (LeakKind kind : kLeakKindsInReportOrder) WriteCount(LeakKindName(kind), check.of(kind), w);
  WriteCount("suppressed", check.suppressed, w);
  w.Key("checked");
  w.Bool(check.scan.has_value());
  w.Key("scan");
  if (!check.scan) {
    w.Null();
  } else {
    const LeakScanFacts& s = *check.scan;
    w.BeginObject();
    w.Key("blocks");
    w.Uint(s.blocks);
    w.Key("threads_scanned");
    w.Uint(s.threads_scanned);
    w.Key("threads_not_stopped");
    w.Uint(s.threads_not_stopped);
    w.Key("root_bytes");
    w.Uint(s.root_bytes);
    w.Key("anonymous_mappings_are_roots");
    w.Bool(s.anonymous_mappings_are_roots);
    w.Key("blocks_not_live");
    w.Uint(s.blocks_not_live);
    w.EndObject();
  }
  w.Key("notes");
  w.BeginArray();
  for (const std::string& note : check.notes) w.String(note);
  w.EndArray();
}

void WriteReleaseErrorsJson(const LeakCheck& check, JsonWriter& w) {
  w.BeginArray();
  for (const ReleaseErrorRecord& r : check.errors) {
    const ReleaseError& e = r.error;
    w.BeginObject();
    w.Key("kind");
    w.String(ReleaseErrorKindName(e.kind));
    w.Key("address");
    w.String(HexAddress(e.address));
    w.Key("count");
    w.Uint(e.count);
    w.Key("free_function");
    w.String(OpFunctionName(e.free_op));
    w.Key("alloc_function");
    if (e.kind == ReleaseErrorKind::kMismatched) {
      w.String(OpFunctionName(e.alloc_op));
    } else {
      w.Null();
    }
    w.Key("size");
    w.Uint(e.size);
    w.Key("thread_id");
    w.Uint(e.thread_id);
    w.Key("alloc_stack_id");
    w.Uint(e.alloc_stack_id);
    w.Key("free_stack_id");
    w.Uint(e.free_stack_id);
    w.Key("alloc_stack");
    WriteStackJson(r.alloc_stack, w);
    w.Key("free_stack");
    WriteStackJson(r.free_stack, w);
    w.EndObject();
  }
  w.EndArray();
}

void WriteSuppressionsJson(const LeakCheck& check, JsonWriter& w) {
  w.BeginArray();
  for (const SuppressionUse& use : check.suppressions) {
    w.BeginObject();
    w.Key("name");
    w.String(use.name);
    w.Key("origin");
    w.String(use.origin);
    w.Key("built_in");
    w.Bool(use.built_in);
    w.Key("records");
    w.Uint(use.records);
    w.Key("bytes");
    w.Uint(use.bytes);
    w.Key("blocks");
    w.Uint(use.blocks);
    w.Key("errors");
    w.Uint(use.errors);
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace heapgap::report
