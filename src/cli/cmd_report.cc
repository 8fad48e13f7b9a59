#include <fmt/format.h>

#include "cli/command.h"
#include "common/error.h"
#include "common/paths.h"
#include "report/run_report.h"

namespace emotune::cli {
namespace {

struct ReportOptions {
  std::vector<std::string> members;
  std::string data;
  std::string out;
  std::size_t batch_size = 16;
  std::size_t explain_essays = 3;
  std::size_t explain_steps = 16;
};

void run_report(const ReportOptions& options, const GlobalOptions& globals) {
  report::ReportRequest request;
  for (const auto& member : options.members) request.members.emplace_back(member);
  request.data_dir = resolve_data_dir(options.data);
  request.out_html = options.out;
  if (request.out_html.extension() != ".html") {
    throw Error("report: --out must name an .html file, got '" + options.out + "'");
  }
  request.predictor.threads = globals.threads;
  request.predictor.forward_batch = options.batch_size;
  request.explain_essays = options.explain_essays;
  request.explain_steps = options.explain_steps;
  for (const auto& path : report::write_report(request)) fmt::print("wrote {}\n", path.string());
}

[[maybe_unused]] const bool registered = register_command(
    "report",
    "An HTML report of runs and ensembles on dev: class frequency, Pearson and confusion "
    "figures, a Table-2-like table, seed spread and the paper's numbers",
    [](CLI::App& command, const GlobalOptions& globals) {
      auto options = std::make_shared<ReportOptions>();
      command
          .add_option("members", options->members,
                      "Run folders, ensemble folders or dev prediction folders. Dev predictions "
                      "missing from a run folder are computed into RUN/predictions/dev/")
          ->required();
      command.add_option("--data", options->data,
                         "Data folder holding wassa2021/ (default $EMOTUNE_DATA)");
      command
          .add_option("--out", options->out,
                      "The report.html to write; each figure is also written beside it as "
                      "<name>-figure*.svg")
          ->required();
      command.add_option("--batch-size", options->batch_size,
                         "Essays per forward pass when dev predictions must be computed");
      command
          .add_option("--explain-essays", options->explain_essays,
                      "Dev essays shown with each word shaded by its attribution (integrated "
                      "gradients), for the first two run members; 0 leaves the view out")
          ->capture_default_str()
          ->check(CLI::Range(0, 1000));
      command
          .add_option("--explain-steps", options->explain_steps,
                      "Integrated-gradients steps for that view")
          ->capture_default_str()
          ->check(CLI::Range(2, 1024));
      command.callback([options, &globals] { run_report(*options, globals); });
    });

}  // namespace
}  // namespace emotune::cli
