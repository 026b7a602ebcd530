// The heapgap command's exit statuses and error lines, run as a program.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/report/test_support.h"

extern char** environ;

namespace heapgap::testing {
namespace {

struct Outcome {
  int status = -1;  // exit status, or 128+N for signal N
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs heapgap with `args` and `extra_env` added to the environment.
Outcome RunHeapgap(const std::vector<std::string>& args,
                   const std::vector<std::string>& extra_env = {}) {
  std::vector<std::string> argv = {HEAPGAP_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> argv_pointers;
  for (std::string& a : argv) argv_pointers.push_back(a.data());
  argv_pointers.push_back(nullptr);
  std::vector<std::string> env(extra_env);
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  std::vector<char*> env_pointers;
  for (std::string& e : env) env_pointers.push_back(e.data());
  env_pointers.push_back(nullptr);

  const std::string out_path = ::testing::TempDir() + "heapgap_cli_test.out";
  const std::string err_path = ::testing::TempDir() + "heapgap_cli_test.err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  Outcome outcome;
  int rc = posix_spawn(&pid, argv_pointers[0], &actions, nullptr, argv_pointers.data(),
                       env_pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(rc, 0);
  if (rc != 0) return outcome;
  int status = 0;
  waitpid(pid, &status, 0);
  outcome.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  outcome.out = ReadAll(out_path);
  outcome.err = ReadAll(err_path);
  return outcome;
}

void ExpectUsageError(const std::vector<std::string>& args, const std::string& fragment = "") {
  SCOPED_TRACE(absl::StrJoin(args, " "));
  Outcome o = RunHeapgap(args);
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.out, "");
  std::vector<std::string> lines = absl::StrSplit(o.err, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 1u) << o.err;
  EXPECT_TRUE(absl::StartsWith(lines[0], "heapgap: error: ")) << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[0], fragment)) << lines[0];
}

TEST(CliTest, HelpAndVersion) {
  Outcome help = RunHeapgap({"--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_TRUE(absl::StrContains(help.out, "heapgap COMMAND")) << help.out;
  Outcome version = RunHeapgap({"--version"});
  EXPECT_EQ(version.status, 0);
  EXPECT_EQ(version.out, std::string("heapgap ") + HEAPGAP_VERSION + "\n");
  for (const char* command : {"report", "run"}) {
    Outcome o = RunHeapgap({command, "--help"});
    EXPECT_EQ(o.status, 0);
    EXPECT_TRUE(absl::StrContains(o.out, std::string("Usage: heapgap ") + command)) << o.out;
  }
}

TEST(CliTest, BadCommandLinesAreUsageErrors) {
  ExpectUsageError({}, "no command");
  ExpectUsageError({"frobnicate"}, "unknown command 'frobnicate'");
  ExpectUsageError({"--frobnicate"}, "unknown option");
  ExpectUsageError({"report"}, "no trace given");
  ExpectUsageError({"report", "--bogus", "x.trace"}, "unknown option '--bogus'");
  ExpectUsageError({"report", "--format"}, "needs a value");
  ExpectUsageError({"report", "--format", "xml", "x.trace"}, "unknown format 'xml'");
  ExpectUsageError({"report", "--top", "-3", "x.trace"}, "non-negative integer");
  ExpectUsageError({"report", "a.trace", "b.trace"}, "one trace or directory at a time");
  ExpectUsageError({"run"}, "no program given");
  ExpectUsageError({"run", "--stack-depth", "0", "--", "/bin/true"}, "1..256");
  ExpectUsageError({"run", "-o", "a:b", "--", "/bin/true"}, "must not contain ':'");
}

TEST(CliTest, BadInputFilesAreUsageErrors) {
  const std::string dir = ::testing::TempDir() + "heapgap_cli_test_dir";
  mkdir(dir.c_str(), 0700);
  TraceBuilder newer;
  newer.header().set_format_version(9);
  TraceBuilder corrupt;
  trace::Record r;
  r.mutable_events()->add_op(1);
  corrupt.Raw(r);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {::testing::TempDir() + "heapgap_cli_test_missing.trace", "no such file"},
      {dir, "no traces in directory"},  // a directory is reported trace by trace
      {WriteTempFile("cli-empty", ""), "is empty"},
      {WriteTempFile("cli-text", "hello, this is text\nand more text\n"), "not a heapgap trace"},
      {WriteTempFile("cli-header-cut", TraceBuilder().Bytes().substr(0, 6)), "cut short inside its header"},
      {newer.WriteFile("cli-newer"), "newer than this heapgap supports"},
      {corrupt.WriteFile("cli-corrupt"), "is corrupt"},
  };
  for (const auto& [path, fragment] : cases) {
    ExpectUsageError({"report", path}, fragment);
    ExpectUsageError({"report", "--format", "json", path}, fragment);
  }
}

TEST(CliTest, ReportWritesTextJsonAndFiles) {
  TraceBuilder b;
  b.AddModule(1, "/usr/bin/testprog", kProgramStart, kProgramSize);
  const uint64_t s = b.Stack({0x401100, 0x401000});
  b.Events(1, {Alloc(1, 0x1000, 1500, s)});
  b.Trailer(0);
  const std::string trace = b.WriteFile("cli-report");
  Outcome text = RunHeapgap({"report", trace});
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_TRUE(absl::StrContains(text.out, "in use at exit: 1,500 bytes in 1 block")) << text.out;
  Outcome json = RunHeapgap({"report", "--format=json", trace});
  EXPECT_EQ(json.status, 0) << json.err;
  EXPECT_TRUE(absl::StartsWith(json.out, "{")) << json.out;
  const std::string out_file = ::testing::TempDir() + "heapgap_cli_test_report.json";
  Outcome to_file = RunHeapgap({"report", "--format", "json", "-o", out_file, trace});
  EXPECT_EQ(to_file.status, 0) << to_file.err;
  EXPECT_EQ(to_file.out, "");
  EXPECT_EQ(ReadAll(out_file), json.out);
  ExpectUsageError({"report", "-o", ::testing::TempDir() + "no/such/dir/x.json", trace}, "cannot write");
}

#ifdef HEAPGAP_PRELOAD_LIBRARY
const std::vector<std::string> kLibraryEnv = {std::string("HEAPGAP_LIBRARY=") +
                                              HEAPGAP_PRELOAD_LIBRARY};

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "heapgap_cli_test_" + name;
  std::string command = "rm -rf '" + dir + "'";
  EXPECT_EQ(std::system(command.c_str()), 0);
  mkdir(dir.c_str(), 0700);
  return dir;
}

TEST(CliRunTest, PassesTheProgramsExitStatusThrough) {
  const std::string dir = FreshDir("status");
  Outcome o = RunHeapgap({"run", "-o", dir, "--", "/bin/sh", "-c", "exit 7"}, kLibraryEnv);
  EXPECT_EQ(o.status, 7) << o.err;
  EXPECT_TRUE(absl::StrContains(o.err, "HEAP SUMMARY")) << o.err;
  EXPECT_TRUE(absl::StrContains(o.err, "in use at exit")) << o.err;
}

TEST(CliRunTest, DeathBySignalIs128PlusN) {
  const std::string dir = FreshDir("signal");
  Outcome o = RunHeapgap({"run", "-o", dir, "--", "/bin/sh", "-c", "kill -TERM $$"}, kLibraryEnv);
  EXPECT_EQ(o.status, 128 + SIGTERM) << o.err;
}

TEST(CliRunTest, MissingOrNonExecutableProgram) {
  Outcome missing = RunHeapgap({"run", "--", "/no/such/program"}, kLibraryEnv);
  EXPECT_EQ(missing.status, 127);
  EXPECT_TRUE(absl::StartsWith(missing.err, "heapgap: error: cannot run '/no/such/program'")) << missing.err;
  EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1) << missing.err;
  Outcome not_found = RunHeapgap({"run", "no-such-program-in-path"}, kLibraryEnv);
  EXPECT_EQ(not_found.status, 127);
  const std::string plain = WriteTempFile("not-executable", "data\n");
  chmod(plain.c_str(), 0600);
  Outcome not_executable = RunHeapgap({"run", "--", plain}, kLibraryEnv);
  EXPECT_EQ(not_executable.status, 126) << not_executable.err;
}

TEST(CliRunTest, MissingLibraryIsAUsageError) {
  Outcome o = RunHeapgap({"run", "--", "/bin/true"}, {"HEAPGAP_LIBRARY=/no/such/libheapgap.so"});
  EXPECT_EQ(o.status, 2);
  EXPECT_TRUE(absl::StartsWith(o.err, "heapgap: error: HEAPGAP_LIBRARY")) << o.err;
}

TEST(CliRunTest, QuietPrintsNothing) {
  const std::string dir = FreshDir("quiet");
  Outcome o = RunHeapgap({"run", "--quiet", "-o", dir, "--", "/bin/true"}, kLibraryEnv);
  EXPECT_EQ(o.status, 0);
  EXPECT_EQ(o.err, "");
}
#endif  // HEAPGAP_PRELOAD_LIBRARY

}  // namespace
}  // namespace heapgap::testing
