#include "viewer/trace_directory.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "report/trace_reader.h"

namespace heapgap::viewer {
namespace {

// The magic string sits in the header, a few bytes into the file.
bool BeginsLikeTrace(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char head[64];
  const ssize_t n = read(fd, head, sizeof head);
  close(fd);
  return n > 0 && absl::StrContains(absl::string_view(head, static_cast<size_t>(n)),
                                    report::kTraceMagic);
}

bool NamedLikeTrace(absl::string_view name) {
  if (absl::EndsWith(name, ".trace")) return true;
  // heapgap never overwrites a trace: a later one gets ".1", ".2", ...
  const size_t dot = name.rfind('.');
  if (dot == absl::string_view::npos || dot + 1 == name.size()) return false;
  for (char c : name.substr(dot + 1)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return absl::EndsWith(name.substr(0, dot), ".trace");
}

}  // namespace

absl::StatusOr<std::vector<std::string>> TracesIn(const std::string& directory) {
  DIR* dir = opendir(directory.c_str());
  if (dir == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cannot read directory '", directory, "': ", std::strerror(errno)));
  }
  std::vector<std::string> traces;
  const std::string prefix = absl::EndsWith(directory, "/") ? directory : directory + "/";
  while (const dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = prefix + name;
    struct stat st;
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (NamedLikeTrace(name) || BeginsLikeTrace(path)) traces.push_back(path);
  }
  closedir(dir);
  std::sort(traces.begin(), traces.end());
  return traces;
}

}  // namespace heapgap::viewer
