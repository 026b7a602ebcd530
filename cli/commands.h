// The subcommands of `heapgap`. Each takes the arguments after its name and
// returns the process exit status.
#ifndef HEAPGAP_CLI_COMMANDS_H_
#define HEAPGAP_CLI_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace heapgap::cli {

// Exit status for bad usage or unreadable input.
inline constexpr int kExitUsage = 2;

// Prints "heapgap: error: <message>" as one line on stderr; returns kExitUsage.
int Fail(absl::string_view message);

int ExportCommand(const std::vector<std::string>& args);
int ReportCommand(const std::vector<std::string>& args);
int RunCommand(const std::vector<std::string>& args);
int ViewCommand(const std::vector<std::string>& args);

}  // namespace heapgap::cli

#endif  // HEAPGAP_CLI_COMMANDS_H_
