// cpp_workload: a C++ program that leans on the parts of libstdc++ a heap
// tracer can disturb: iostreams, locales and facets, exceptions thrown
// through frames that allocate, std::thread and thread_local objects with
// destructors. Its output is the same on every run; it exits with the status
// given on the command line (default 0) after checking its own results.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iomanip>
#include <iostream>
#include <locale>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

// Groups digits by three with a custom separator: a facet of our own.
class GroupedDigits : public std::numpunct<char> {
 protected:
  char do_thousands_sep() const override { return '\''; }
  std::string do_grouping() const override { return "\3"; }
  char do_decimal_point() const override { return ','; }
};

std::atomic<int> g_thread_locals_destroyed{0};

// A thread_local with a constructor and destructor that allocate and free.
struct ThreadJournal {
  std::vector<std::string> lines;
  std::map<int, std::string> index;
  ThreadJournal() { lines.reserve(8); }
  ~ThreadJournal() { g_thread_locals_destroyed.fetch_add(1); }
};
thread_local ThreadJournal t_journal;
thread_local std::unique_ptr<std::string> t_name;

class WorkError : public std::runtime_error {
 public:
  WorkError(const std::string& what, int depth) : std::runtime_error(what), depth_(depth) {}
  int depth() const { return depth_; }

 private:
  int depth_;
};

// Allocates in every frame, throws from the bottom.
__attribute__((noinline)) int DescendAndThrow(int depth, std::vector<std::string>& trail) {
  trail.push_back(std::string(40 + depth, static_cast<char>('a' + depth % 26)));
  auto owned = std::make_unique<std::vector<int>>(depth + 5, depth);
  if (depth == 0) throw WorkError("bottom reached after " + std::to_string(trail.size()) + " frames", depth);
  return DescendAndThrow(depth - 1, trail) + static_cast<int>(owned->size());
}

std::string FormatNumbers(const std::locale& locale) {
  std::ostringstream out;
  out.imbue(locale);
  out << 1234567890 << ' ' << std::fixed << std::setprecision(2) << 98765.4321 << ' '
      << std::hex << std::showbase << 48879;
  return out.str();
}

std::string UpperCase(const std::string& text, const std::locale& locale) {
  std::string result = text;
  std::use_facet<std::ctype<char>>(locale).toupper(result.data(), result.data() + result.size());
  return result;
}

// One worker: thread_local state, exceptions inside the thread, an
// exception_ptr handed back to the main thread.
void Worker(int index, std::vector<std::string>& results, std::exception_ptr& error, std::mutex& mutex) {
  t_name = std::make_unique<std::string>("worker-" + std::to_string(index));
  int caught = 0;
  for (int round = 0; round < 50; ++round) {
    std::vector<std::string> trail;
    try {
      DescendAndThrow(5 + (index + round) % 10, trail);
    } catch (const WorkError& e) {
      caught += e.depth() == 0;
      t_journal.index[round] = e.what();
    }
    std::ostringstream line;
    line << *t_name << " round " << round << " trail " << trail.size();
    t_journal.lines.push_back(line.str());
    if (t_journal.lines.size() > 16) t_journal.lines.erase(t_journal.lines.begin());
  }
  try {
    if (index == 3) throw std::out_of_range("worker 3 hands an exception to main");
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex);
    error = std::current_exception();
  }
  std::ostringstream summary;
  summary << *t_name << ": caught " << caught << ", journal " << t_journal.lines.size() << " lines, "
          << t_journal.index.size() << " messages, last '" << t_journal.lines.back() << "'";
  std::lock_guard<std::mutex> lock(mutex);
  results[index] = summary.str();
}

}  // namespace

int main(int argc, char** argv) {
  const int exit_status = argc > 1 ? std::atoi(argv[1]) : 0;
  std::ios::sync_with_stdio(false);
  bool ok = true;

  // Locales: the classic one, one with our facet, and the system's C.UTF-8
  // when it exists (its output is not printed: it differs between systems).
  const std::locale grouped(std::locale::classic(), new GroupedDigits);
  std::cout << "classic: " << FormatNumbers(std::locale::classic()) << '\n';
  std::cout << "grouped: " << FormatNumbers(grouped) << '\n';
  std::cout << "upper: " << UpperCase("heap gap, hardened", std::locale::classic()) << '\n';
  try {
    std::locale utf8("C.UTF-8");
    ok &= !FormatNumbers(utf8).empty();
  } catch (const std::runtime_error&) {
    // No such locale on this system: nothing to check.
  }

  // Threads with thread_local state and exceptions.
  constexpr int kThreads = 8;
  std::vector<std::string> results(kThreads);
  std::exception_ptr error;
  std::mutex mutex;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back(Worker, i, std::ref(results), std::ref(error), std::ref(mutex));
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& line : results) std::cout << line << '\n';
  try {
    if (error) std::rethrow_exception(error);
    ok = false;
  } catch (const std::out_of_range& e) {
    std::cout << "rethrown in main: " << e.what() << '\n';
  }
  std::cout << "thread_local destructors: " << g_thread_locals_destroyed.load() << '\n';
  ok &= g_thread_locals_destroyed.load() == kThreads;

  // Exceptions through frames that allocate, in the main thread, and a
  // nested exception.
  std::vector<std::string> trail;
  try {
    try {
      DescendAndThrow(30, trail);
    } catch (const WorkError&) {
      std::throw_with_nested(std::logic_error("outer"));
    }
  } catch (const std::logic_error& e) {
    std::cout << "nested: " << e.what();
    try {
      std::rethrow_if_nested(e);
    } catch (const WorkError& inner) {
      std::cout << " <- " << inner.what() << '\n';
    }
  }

  // Streams of a good size: a string stream round trip of a map.
  std::map<std::string, long> counts;
  for (int i = 0; i < 20000; ++i) counts["key" + std::to_string(i % 997)] += i;
  std::stringstream stream;
  for (const auto& [key, value] : counts) stream << key << ' ' << value << '\n';
  long total = 0;
  std::string key;
  long value;
  while (stream >> key >> value) total += value;
  std::cout << "stream total: " << total << " over " << counts.size() << " keys\n";
  ok &= total == 20000L * 19999 / 2;

  std::cout << (ok ? "all checks passed" : "CHECKS FAILED") << std::endl;
  return ok ? exit_status : 100;
}
