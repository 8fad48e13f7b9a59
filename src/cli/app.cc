#include "cli/app.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "common/error.h"
#include "common/version.h"

namespace emotune::cli {
namespace {

struct Registration {
  std::string name;
  std::string description;
  CommandSetup setup;
};

std::vector<Registration>& registry() {
  static std::vector<Registration> commands;
  return commands;
}

}  // namespace

bool register_command(const std::string& name, const std::string& description, CommandSetup setup) {
  registry().push_back({name, description, std::move(setup)});
  return true;
}

bool has_command(std::string_view name) {
  const auto& commands = registry();
  return std::any_of(commands.begin(), commands.end(),
                     [&](const Registration& command) { return command.name == name; });
}

int run_app(int argc, char** argv) {
  CLI::App app{
      "emotune: predicts empathy, distress and emotion from essays written in reaction to news "
      "stories (WASSA 2021), by fine-tuning ELECTRA, RoBERTa, ALBERT and BERT encoders."};
  app.set_version_flag("--version", std::string("emotune ") + kVersion);
  app.require_subcommand(1);
  app.fallthrough();

  GlobalOptions globals;
  app.add_option("--threads", globals.threads,
                 "Intra-op threads for libtorch and BLAS (default: every core)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--log-level", globals.log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.parse_complete_callback([&globals] {
    spdlog::set_level(spdlog::level::from_str(globals.log_level));
    spdlog::set_pattern("[%H:%M:%S] %^%l%$ %v");
  });

  auto& commands = registry();
  std::sort(commands.begin(), commands.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  for (const auto& command : commands) {
    command.setup(*app.add_subcommand(command.name, command.description), globals);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const ExitStatus& status) {
    return status.code;
  } catch (const Error& e) {
    std::fprintf(stderr, "emotune: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "emotune: internal error: %s\n", e.what());
    return 70;
  }
  return 0;
}

}  // namespace emotune::cli
