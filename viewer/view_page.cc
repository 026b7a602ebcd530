#include "viewer/view_page.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "report/json_report.h"
#include "report/json_writer.h"
#include "report/report.h"
#include "report/stack_symbolizer.h"
#include "report/trace_analysis.h"
#include "viewer/viewer_assets.h"

namespace heapgap::viewer {
namespace {

absl::string_view Asset(absl::string_view name) {
  for (size_t i = 0; i < kViewerAssetCount; ++i) {
    if (kViewerAssets[i].name == name) return kViewerAssets[i].text;
  }
  return {};
}

// Replaces the first `placeholder` in `page` with `text`.
void Fill(std::string& page, absl::string_view placeholder, absl::string_view text) {
  const size_t at = page.find(placeholder.data(), 0, placeholder.size());
  if (at != std::string::npos) page.replace(at, placeholder.size(), text.data(), text.size());
}

// A <script type="application/json"> element. The JSON writer escapes '<',
// '>' and '&' inside strings and JSON has none elsewhere, so no text from a
// trace can end the element or open another.
void AppendDataElement(absl::string_view id, absl::string_view json, std::string& out) {
  absl::StrAppend(&out, "<script type=\"application/json\" id=\"", id, "\">");
  for (char c : json) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  out += "</script>\n";
}

std::string Page(const std::string& data) {
  std::string page(Asset("page.html"));
  std::string script;
  for (size_t i = 0; i < kViewerAssetCount; ++i) {
    const ViewerAsset& asset = kViewerAssets[i];
    if (asset.name.size() > 3 && asset.name.substr(asset.name.size() - 3) == ".js") {
      absl::StrAppend(&script, "// ", asset.name, "\n", asset.text, "\n");
    }
  }
  // The data goes in last: it is the largest part and the placeholders are
  // all before it.
  Fill(page, "@HEAPGAP_VERSION@", HEAPGAP_VERSION);
  Fill(page, "@HEAPGAP_STYLE@", Asset("style.css"));
  Fill(page, "@HEAPGAP_SCRIPT@", script);
  Fill(page, "@HEAPGAP_DATA@", data);
  return page;
}

void AppendProcess(size_t index, const PageProcess& process, std::string& data) {
  AppendDataElement(absl::StrCat("heapgap-report-", index), process.report_json, data);
  AppendDataElement(absl::StrCat("heapgap-view-", index), process.view_json, data);
}

}  // namespace

std::string CompactJson(absl::string_view json) {
  std::string out;
  out.reserve(json.size());
  bool in_string = false;
  bool escaped = false;
  for (char c : json) {
    if (in_string) {
      out += c;
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '"') in_string = true;
    out += c;
  }
  return out;
}

absl::StatusOr<PageProcess> BuildPageProcess(const std::string& path, const PageOptions& options,
                                             report::ProgressLine& progress) {
  report::ViewCollector collector(options.view);
  report::ReadProgress read_progress(progress, path, &collector);
  absl::StatusOr<std::unique_ptr<report::TraceAnalysis>> analysis =
      report::AnalyzeTrace(path, &read_progress);
  if (!analysis.ok()) return analysis.status();
  const size_t slash = path.rfind('/');
  progress.Show(absl::StrCat("heapgap: symbolizing the stacks of ",
                             slash == std::string::npos ? path : path.substr(slash + 1)),
                true);
  report::StackSymbolizer symbolizer;
  report::ReportOptions report_options;
  report_options.max_records = options.max_records;
  report_options.top = options.max_records;
  PageProcess process;
  process.report_json =
      CompactJson(report::JsonReport(report::BuildReport(**analysis, report_options, symbolizer)));
  process.view_json = report::ViewDataJson(**analysis, collector, options.view, symbolizer);
  return process;
}

std::string TracePage(const PageProcess& process) {
  std::string data;
  AppendProcess(0, process, data);
  return Page(data);
}

std::string DirectoryPage(const std::string& directory, const std::vector<DirectoryEntry>& entries,
                          const std::vector<PageProcess>& processes) {
  std::string index;
  report::JsonWriter w(&index, 0);
  w.BeginObject();
  w.Key("directory");
  w.String(directory);
  w.Key("processes");
  w.BeginArray();
  for (const DirectoryEntry& entry : entries) {
    w.BeginObject();
    w.Key("trace");
    w.String(entry.trace);
    w.Key("data");
    w.Int(entry.process);
    if (!entry.error.empty()) {
      w.Key("error");
      w.String(entry.error);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::string data;
  AppendDataElement("heapgap-index", index, data);
  for (size_t i = 0; i < processes.size(); ++i) AppendProcess(i, processes[i], data);
  return Page(data);
}

}  // namespace heapgap::viewer
