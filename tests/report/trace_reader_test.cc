// Reading whole, truncated, corrupt and foreign files.
#include <sys/stat.h>

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "report/trace_reader.h"
#include "tests/report/test_support.h"

namespace heapgap::testing {
namespace {

// A small trace with two threads, stacks, barriers and a trailer.
TraceBuilder SmallTrace() {
  TraceBuilder b;
  b.AddModule(1, "/usr/bin/testprog", kProgramStart, kProgramSize);
  const uint64_t s1 = b.Stack({0x401100, 0x401000});
  const uint64_t s2 = b.Stack({0x401200, 0x401000});
  b.Events(1, {Alloc(1, 0x1000, 100, s1), Alloc(2, 0x2000, 200, s2), Free(3, 0x1000)});
  b.Events(2, {Alloc(4, 0x3000, 300, s2)});
  b.Barrier(5);
  b.Events(1, {Alloc(5, 0x4000, 50, s1), Free(6, 0x2000), Alloc(7, 0x5000, 60, s2)});
  b.Barrier(8);
  b.Trailer(0);
  return b;
}

absl::Status ErrorOf(const std::string& path) {
  absl::StatusOr<std::unique_ptr<report::TraceAnalysis>> a = report::AnalyzeTrace(path);
  return a.ok() ? absl::OkStatus() : a.status();
}

void ExpectError(const std::string& path, const std::string& fragment) {
  absl::Status status = ErrorOf(path);
  EXPECT_FALSE(status.ok()) << path;
  EXPECT_TRUE(absl::StrContains(status.message(), fragment)) << status.message();
  EXPECT_FALSE(absl::StrContains(status.message(), "\n")) << status.message();
}

size_t HeaderEnd(const std::string& bytes) {
  size_t length = 0, shift = 0, i = 0;
  for (;;) {
    const auto byte = static_cast<unsigned char>(bytes[i++]);
    length |= static_cast<size_t>(byte & 0x7F) << shift;
    shift += 7;
    if (byte < 0x80) return i + length;
  }
}

TEST(TraceReaderTest, ReadsACompleteTrace) {
  auto a = Analyze(SmallTrace(), "small");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->events, 7);
  EXPECT_EQ(a->replay.totals().allocations, 5);
  EXPECT_EQ(a->replay.totals().frees, 2);
  EXPECT_EQ(a->process.end, report::TraceEnd::kExit);
  EXPECT_TRUE(a->warnings.empty()) << a->warnings[0];
}

TEST(TraceReaderTest, EveryPrefixIsATruncatedTraceOrAClearError) {
  const std::string whole = SmallTrace().Bytes();
  const size_t header_end = HeaderEnd(whole);
  uint64_t previous_events = 0;
  for (size_t cut = 0; cut < whole.size(); ++cut) {
    SCOPED_TRACE(cut);
    const std::string path = WriteTempFile("prefix", whole.substr(0, cut));
    absl::StatusOr<std::unique_ptr<report::TraceAnalysis>> a = report::AnalyzeTrace(path);
    if (cut < header_end) {
      ASSERT_FALSE(a.ok());
      if (cut == 0) {
        EXPECT_TRUE(absl::StrContains(a.status().message(), "is empty")) << a.status();
      } else {
        EXPECT_TRUE(absl::StrContains(a.status().message(), "cut short inside its header"))
            << a.status();
      }
      continue;
    }
    ASSERT_TRUE(a.ok()) << a.status();
    const report::TraceAnalysis& analysis = **a;
    EXPECT_EQ(analysis.process.end, report::TraceEnd::kTruncated);
    ASSERT_FALSE(analysis.warnings.empty());
    EXPECT_TRUE(absl::StrContains(analysis.warnings[0], "truncated"));
    EXPECT_GE(analysis.events, previous_events);
    previous_events = analysis.events;
    EXPECT_EQ(analysis.replay.totals().unknown_frees, 0);
    EXPECT_LE(analysis.replay.totals().allocations, 5);
  }
  EXPECT_EQ(previous_events, 7);
}

TEST(TraceReaderTest, ACutInsideARecordIsNotedInTheWarnings) {
  const std::string whole = SmallTrace().Bytes();
  auto a = report::AnalyzeTrace(WriteTempFile("cut-mid", whole.substr(0, whole.size() - 2)));
  ASSERT_TRUE(a.ok()) << a.status();
  bool noted = false;
  for (const std::string& w : (*a)->warnings) noted |= absl::StrContains(w, "complete record");
  EXPECT_TRUE(noted);
}

TEST(TraceReaderTest, ZeroPaddingAfterTheLastRecordIsATruncation) {
  TraceBuilder b = SmallTrace();
  const std::string padded = b.Bytes().substr(0, b.Bytes().size() - 6) + std::string(4096, '\0');
  auto a = report::AnalyzeTrace(WriteTempFile("padded", padded));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->process.end, report::TraceEnd::kTruncated);
}

TEST(TraceReaderTest, InputThatIsNoTraceIsRejected) {
  ExpectError(WriteTempFile("empty", ""), "is empty");
  ExpectError(WriteTempFile("text", std::string(20, 'x') + "this is not a trace\n"),
              "not a heapgap trace");
  std::string garbage;
  for (int i = 0; i < 2048; ++i) garbage.push_back(static_cast<char>(i * 7 + 3));
  ExpectError(WriteTempFile("garbage", garbage), "not a heapgap trace");
  ExpectError(WriteTempFile("zeros", std::string(100, '\0')), "not a heapgap trace");
  ExpectError(WriteTempFile("huge-length", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01xyz"),
              "not a heapgap trace");
  ExpectError(::testing::TempDir() + "heapgap_report_test_no_such_file", "no such file");
  const std::string dir = ::testing::TempDir() + "heapgap_report_test_dir";
  mkdir(dir.c_str(), 0700);
  ExpectError(dir, "is a directory");

  // A well-formed record that is not a header (an empty Barrier), and a
  // header with another magic.
  ExpectError(WriteTempFile("first-not-header", std::string("\x02\x32\x00", 3)),
              "not a heapgap trace");
  TraceBuilder wrong_magic;
  wrong_magic.header().set_magic("heaptrack");
  ExpectError(wrong_magic.WriteFile("wrong-magic"), "not a heapgap trace");
}

TEST(TraceReaderTest, NewerFormatVersionIsRejected) {
  TraceBuilder b;
  b.header().set_format_version(2);
  ExpectError(b.WriteFile("newer"), "newer than this heapgap supports");
}

TEST(TraceReaderTest, CorruptRecordsAreErrors) {
  {
    TraceBuilder b;
    trace::Record r;
    trace::EventBatch* batch = r.mutable_events();
    batch->add_op(1);
    batch->add_op(32);
    batch->add_seq_delta(1);  // one entry short in every other column
    b.Raw(r);
    ExpectError(b.WriteFile("columns"), "column seq_delta has 1 entries for 2 ops");
  }
  {
    // realloc's two events without the aux entry of the REALLOC.
    trace::Record r;
    trace::EventBatch* batch = r.mutable_events();
    for (uint32_t op : {33u, 3u}) {
      batch->add_op(op);
      batch->add_seq_delta(1);
      batch->add_time_delta(1);
      batch->add_address_delta(0x1000);
      batch->add_size(10);
      batch->add_stack_id(0);
    }
    TraceBuilder c;
    c.Raw(r);
    ExpectError(c.WriteFile("aux"), "0 aux entries, its ops need 1");
  }
  {
    TraceBuilder b;
    b.Events(1, {Alloc(1, 0x1000, 10, 0, /*op=*/20)});
    ExpectError(b.WriteFile("bad-op"), "op 20");
  }
  {
    TraceBuilder b;
    trace::Record r;
    r.mutable_stack_nodes()->set_first_id(1);
    r.mutable_stack_nodes()->add_parent_distance(5);
    r.mutable_stack_nodes()->add_return_address_delta(0x401000);
    b.Raw(r);
    ExpectError(b.WriteFile("bad-parent"), "names no node");
  }
  {
    // A record that is complete but does not parse, followed by more data.
    std::string bytes = SmallTrace().Bytes();
    const size_t at = HeaderEnd(bytes);
    std::string broken = bytes.substr(0, at) + std::string("\x03\xff\xff\xff", 4) + bytes.substr(at);
    ExpectError(WriteTempFile("unparsable", broken), "record 2 at byte offset");
  }
  {
    std::string bytes = SmallTrace().Bytes();
    const size_t at = HeaderEnd(bytes);
    std::string broken = bytes.substr(0, at) + "\xff\xff\xff\xff\x7f" + bytes.substr(at);
    ExpectError(WriteTempFile("impossible-length", broken), "impossible record length");
  }
  {
    TraceBuilder b;
    trace::Record r;
    *r.mutable_header() = b.header();
    b.Raw(r);
    ExpectError(b.WriteFile("two-headers"), "a second header");
  }
}

TEST(TraceReaderTest, RecordsOfUnknownKindsAreSkipped) {
  const std::string bytes = SmallTrace().Bytes();
  const size_t at = HeaderEnd(bytes);
  // A Record with field 20 (length-delimited, 2 bytes): a kind from a newer
  // writer, framed with its length 5.
  const std::string unknown("\x05\xa2\x01\x02\x01\x02", 6);
  auto a = report::AnalyzeTrace(
      WriteTempFile("unknown-kind", bytes.substr(0, at) + unknown + bytes.substr(at)));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->events, 7);
  EXPECT_EQ((*a)->process.end, report::TraceEnd::kExit);
}

}  // namespace
}  // namespace heapgap::testing
