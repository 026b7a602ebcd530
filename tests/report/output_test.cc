// JSON and text output: escaping, schema names, number formatting.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "report/format.h"
#include "report/json_report.h"
#include "report/json_writer.h"
#include "report/text_report.h"
#include "tests/report/test_support.h"

namespace heapgap::testing {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

std::string Escaped(absl::string_view text) {
  std::string out;
  report::AppendJsonString(text, &out);
  return out;
}

TEST(JsonStringTest, EscapesWhatJsonAndHtmlNeed) {
  EXPECT_EQ(Escaped("plain"), "\"plain\"");
  EXPECT_EQ(Escaped("say \"hi\"\\"), R"("say \"hi\"\\")");
  EXPECT_EQ(Escaped("a\nb\tc\r"), R"("a\nb\tc\r")");
  EXPECT_EQ(Escaped(std::string("\x01\x1f\x7f", 3)), R"("\u0001\u001f\u007f")");
  EXPECT_EQ(Escaped(std::string("nul\0byte", 8)), R"("nul\u0000byte")");
  EXPECT_EQ(Escaped("<img src=x onerror=alert(1)>"),
            R"("\u003cimg src=x onerror=alert(1)\u003e")");
  EXPECT_EQ(Escaped("a&b</script>"), R"("a\u0026b\u003c/script\u003e")");
  EXPECT_EQ(Escaped("line\xe2\x80\xa8sep\xe2\x80\xa9"), R"("line\u2028sep\u2029")");
}

TEST(JsonStringTest, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(Escaped("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80\"");
  EXPECT_EQ(Escaped("bad\xff"), R"("bad\ufffd")");
  EXPECT_EQ(Escaped("\xc3"), R"("\ufffd")");                  // cut sequence
  EXPECT_EQ(Escaped("\xc0\xaf"), R"("\ufffd\ufffd")");        // overlong
  EXPECT_EQ(Escaped("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // surrogate
  EXPECT_EQ(Escaped("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");  // > U+10FFFF
}

TEST(JsonWriterTest, WritesNestedContainers) {
  std::string out;
  report::JsonWriter w(&out, 0);
  w.BeginObject();
  w.Key("a");
  w.BeginArray();
  w.Int(-1);
  w.Uint(18446744073709551615u);
  w.Bool(true);
  w.Null();
  w.BeginObject();
  w.EndObject();
  w.EndArray();
  w.Key("b");
  w.String("x");
  w.EndObject();
  EXPECT_EQ(out, R"({"a":[-1,18446744073709551615,true,null,{}],"b":"x"})");
}

TEST(FormatTest, Numbers) {
  EXPECT_EQ(report::WithThousands(0), "0");
  EXPECT_EQ(report::WithThousands(999), "999");
  EXPECT_EQ(report::WithThousands(1000), "1,000");
  EXPECT_EQ(report::WithThousands(1234567), "1,234,567");
  EXPECT_EQ(report::WithThousands(18446744073709551615u), "18,446,744,073,709,551,615");
  EXPECT_EQ(report::Count(1, "block", "blocks"), "1 block");
  EXPECT_EQ(report::Count(2000, "block", "blocks"), "2,000 blocks");
  EXPECT_EQ(report::FormatDuration(850), "850 ns");
  EXPECT_EQ(report::FormatDuration(12300), "12.3 us");
  EXPECT_EQ(report::FormatDuration(4560000), "4.56 ms");
  EXPECT_EQ(report::FormatDuration(1234000000), "1.234 s");
  EXPECT_EQ(report::HexAddress(0x7f00dead), "0x7f00dead");
}

class ReportOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    builder.header().set_executable("/opt/app \"quoted\"\n");
    builder.AddModule(1, "/usr/bin/testprog", kProgramStart, kProgramSize);
    const uint64_t evil = builder.Stack({0x401100, 0x401000});
    const uint64_t plain = builder.Stack({0x401200, 0x401000});
    builder.Events(1, {Alloc(1, 0x1000, 1234, evil), Alloc(2, 0x2000, 1000, evil),
                       Alloc(3, 0x3000, 50, plain), Free(4, 0x3000), Alloc(5, 0x4000, 7, plain)});
    builder.Trailer(0);
    analysis = Analyze(builder, "output");
    ASSERT_TRUE(analysis);
    report::StackSymbolizer symbolizer =
        FakeSymbolizer({{0x401100, "<img src=x onerror=alert(1)>"},
                        {0x401200, "say \"cheese\"\nnow"},
                        {0x401000, "main"}});
    report = report::BuildReport(*analysis, report::ReportOptions{}, symbolizer);
  }

  TraceBuilder builder;
  std::unique_ptr<report::TraceAnalysis> analysis;
  report::Report report;
};

TEST_F(ReportOutputTest, JsonParsesBackWithTheDocumentedNames) {
  const std::string json = report::JsonReport(report);
  EXPECT_FALSE(absl::StrContains(json, "<img")) << json;
  Struct root;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &root).ok()) << json;
  const auto& f = root.fields();
  EXPECT_EQ(f.at("heapgap_version").string_value(), HEAPGAP_VERSION);
  EXPECT_EQ(f.at("trace").string_value(), analysis->path);

  const auto& process = f.at("process").struct_value().fields();
  EXPECT_EQ(process.at("pid").number_value(), 4242);
  EXPECT_EQ(process.at("parent_pid").number_value(), 4241);
  EXPECT_EQ(process.at("exe").string_value(), "/opt/app \"quoted\"\n");
  EXPECT_EQ(process.at("argv").list_value().values(1).string_value(), "--flag");
  EXPECT_FALSE(process.at("forked").bool_value());
  EXPECT_EQ(process.at("exit_status").number_value(), 0);
  EXPECT_TRUE(process.at("clean_exit").bool_value());
  EXPECT_EQ(process.at("end").string_value(), "exit");
  EXPECT_EQ(process.at("duration_ns").number_value(), 6000);
  EXPECT_EQ(f.at("warnings").list_value().values_size(), 0);

  const auto& totals = f.at("totals").struct_value().fields();
  EXPECT_EQ(totals.at("allocations").number_value(), 4);
  EXPECT_EQ(totals.at("frees").number_value(), 1);
  EXPECT_EQ(totals.at("bytes_allocated").number_value(), 1234 + 1000 + 50 + 7);
  EXPECT_EQ(totals.at("temporary_allocations").number_value(), 1);
  const auto& calls = totals.at("calls").struct_value().fields();
  EXPECT_EQ(calls.size(), 2);
  EXPECT_EQ(calls.at("malloc").number_value(), 4);
  EXPECT_EQ(calls.at("free").number_value(), 1);
  for (const char* key : {"unknown_frees", "inherited_frees", "lost_events"}) {
    EXPECT_EQ(totals.at(key).number_value(), 0) << key;
  }

  const auto& leaks = f.at("leaks").struct_value().fields();
  EXPECT_EQ(leaks.at("bytes").number_value(), 2241);
  EXPECT_EQ(leaks.at("blocks").number_value(), 3);
  const auto& records = leaks.at("records").list_value();
  ASSERT_EQ(records.values_size(), 2);
  const auto& first = records.values(0).struct_value().fields();
  EXPECT_EQ(first.at("bytes").number_value(), 2234);
  EXPECT_EQ(first.at("blocks").number_value(), 2);
  const auto& frame = first.at("stack").list_value().values(0).struct_value().fields();
  EXPECT_EQ(frame.at("function").string_value(), "<img src=x onerror=alert(1)>");
  EXPECT_EQ(frame.at("module").string_value(), "/usr/bin/testprog");
  EXPECT_EQ(frame.at("address").string_value(), "0x401100");
  EXPECT_EQ(frame.at("file").string_value(), "");
  EXPECT_EQ(frame.at("line").number_value(), 0);
  EXPECT_FALSE(frame.at("inlined").bool_value());
  const auto& second = records.values(1).struct_value().fields();
  EXPECT_EQ(second.at("stack").list_value().values(0).struct_value().fields().at("function").string_value(),
            "say \"cheese\"\nnow");

  const auto& peak = f.at("peak").struct_value().fields();
  EXPECT_EQ(peak.at("live_bytes").number_value(), 2284);
  EXPECT_EQ(peak.at("blocks").number_value(), 3);
  EXPECT_EQ(peak.at("time_ns").number_value(), 3000);
  EXPECT_EQ(peak.at("records").list_value().values_size(), 2);
}

TEST_F(ReportOutputTest, JsonOfAnUnfinishedProcessHasANullStatus) {
  TraceBuilder b;
  b.Events(1, {Alloc(1, 0x1000, 10, 0)});
  auto a = Analyze(b, "unfinished");
  ASSERT_TRUE(a);
  report::StackSymbolizer symbolizer = report::StackSymbolizer::AddressesOnly();
  const std::string json = report::JsonReport(report::BuildReport(*a, {}, symbolizer));
  Struct root;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &root).ok()) << json;
  const auto& process = root.fields().at("process").struct_value().fields();
  EXPECT_EQ(process.at("exit_status").kind_case(), Value::kNullValue);
  EXPECT_EQ(process.at("end").string_value(), "truncated");
  EXPECT_FALSE(process.at("clean_exit").bool_value());
  EXPECT_EQ(root.fields().at("warnings").list_value().values_size(), 1);
}

TEST(NonUtf8Test, PathsAndArgumentsNeedNotBeUtf8) {
  TraceBuilder b;
  b.header().set_executable("/tmp/caf\xe9");
  b.header().add_argv("\xff\xfe");
  b.AddModule(1, "/tmp/lib\xff.so", kProgramStart, kProgramSize);
  const uint64_t s = b.Stack({0x401100});
  b.Events(1, {Alloc(1, 0x1000, 10, s)});
  b.ProcessEnd(trace::ProcessEnd::EXEC, 0, "/bin/\x80");
  auto a = Analyze(b, "non-utf8");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->process.executable, "/tmp/caf\xe9");
  EXPECT_EQ(a->process.exec_path, "/bin/\x80");
  report::StackSymbolizer symbolizer = report::StackSymbolizer::AddressesOnly();
  const std::string json = report::JsonReport(report::BuildReport(*a, {}, symbolizer));
  Struct root;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &root).ok()) << json;
  const auto& process = root.fields().at("process").struct_value().fields();
  EXPECT_EQ(process.at("exe").string_value(), "/tmp/caf\xef\xbf\xbd");
  EXPECT_EQ(process.at("argv").list_value().values(2).string_value(), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(process.at("exec_path").string_value(), "/bin/\xef\xbf\xbd");
}

TEST_F(ReportOutputTest, TextHasTheSummaryAndTopLists) {
  const std::string text = report::TextReport(report, 10);
  EXPECT_TRUE(absl::StrContains(text, "in use at exit: 2,241 bytes in 3 blocks")) << text;
  EXPECT_TRUE(absl::StrContains(text, "total heap usage: 4 allocs, 1 frees, 2,291 bytes allocated"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "peak live heap: 2,284 bytes in 3 blocks at 3.0 us")) << text;
  for (const char* heading : {"LEAKS BY STACK", "PEAK CONTRIBUTIONS", "MOST ALLOCATIONS",
                              "MOST TEMPORARY ALLOCATIONS"}) {
    EXPECT_TRUE(absl::StrContains(text, heading)) << heading;
  }
  EXPECT_TRUE(absl::StrContains(text, "2,234 bytes in 2 blocks allocated at:")) << text;
  EXPECT_TRUE(absl::StrContains(text, "#1 main (/usr/bin/testprog+0x1000)")) << text;

  const std::string top1 = report::TextReport(report, 1);
  EXPECT_TRUE(absl::StrContains(top1, "... and 1 more stack")) << top1;
}

TEST_F(ReportOutputTest, SummaryLinesCarryThePrefix) {
  const std::string lines = report::SummaryLines(*analysis, "==4242== ");
  EXPECT_TRUE(absl::StrContains(lines, "==4242==     in use at exit: 2,241 bytes in 3 blocks")) << lines;
  EXPECT_TRUE(absl::StrContains(lines, "==4242==   total heap usage: 4 allocs, 1 frees")) << lines;
  for (absl::string_view line : absl::StrSplit(lines, '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(absl::StartsWith(line, "==4242== ")) << line;
  }
}

}  // namespace
}  // namespace heapgap::testing
