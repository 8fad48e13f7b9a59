#pragma once

#include <string_view>

namespace emotune::cli {

// Builds the command line from every subcommand registered in this program (command.h), parses
// argv and runs the chosen one; returns the exit status (user errors: 1 with one message).
int run_app(int argc, char** argv);

// Whether this program registered a subcommand of that name.
bool has_command(std::string_view name);

}  // namespace emotune::cli
