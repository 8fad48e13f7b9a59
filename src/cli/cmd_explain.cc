#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "common/error.h"
#include "common/files.h"
#include "model/attribution.h"
#include "predict/explainer.h"
#include "predict/prediction_run.h"

namespace emotune::cli {
namespace {

struct ExplainCliOptions {
  std::string run;
  std::string input;
  std::string out;
  std::vector<std::string> outputs;
  std::size_t steps = 32;
  std::string baseline = "pad";
  std::string rule = "gauss-legendre";
  std::string device = "cpu";
};

void run_explain(const ExplainCliOptions& options, const GlobalOptions& globals) {
  if (std::filesystem::is_regular_file(std::filesystem::path(options.run) / "ensemble.json")) {
    throw Error("explain: " + options.run +
                " is an ensemble; explain one of its member runs instead");
  }
  const bool to_stdout = options.out.empty() || options.out == "-";
  if (to_stdout) {
    // Standard output carries the JSON Lines; the log goes to standard error.
    spdlog::set_default_logger(spdlog::stderr_color_mt("explain"));
  }
  const auto essays = predict::read_essays(options.input);
  predict::RunExplainer explainer(options.run, {globals.threads, options.device});
  nlohmann::json request = nlohmann::json::object();
  if (!options.outputs.empty()) request["outputs"] = options.outputs;
  predict::ExplainOptions defaults;
  defaults.method.steps = options.steps;
  defaults.method.baseline = model::parse_ig_baseline(options.baseline);
  defaults.method.rule = model::parse_ig_rule(options.rule);
  const auto explain_options = predict::parse_explain_options(request, explainer, defaults);

  std::ofstream file;
  if (!to_stdout) {
    file.open(options.out, std::ios::binary | std::ios::trunc);
    if (!file) throw Error(fmt::format("{}: cannot open for writing", options.out));
  }
  std::ostream& out = file.is_open() ? static_cast<std::ostream&>(file) : std::cout;
  double worst_gap = 0;
  for (const auto& essay : essays) {
    const auto explanation = explainer.explain({essay.text, essay.person}, explain_options);
    for (const auto& output : explanation.outputs) {
      worst_gap = std::max(worst_gap, std::abs(output.completeness_gap));
    }
    out << predict::explanation_json(explanation, essay.id)
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
        << '\n';
    out.flush();
  }
  if (!out) throw Error(fmt::format("{}: write failed", options.out.empty() ? "stdout" : options.out));
  spdlog::info("{} essays explained ({} steps, {}, baseline {}); largest completeness gap {:.2e}",
               essays.size(), options.steps, options.rule, options.baseline, worst_gap);
}

[[maybe_unused]] const bool registered = register_command(
    "explain",
    "Why a run predicted what it did: integrated-gradients attributions of each output to the "
    "word pieces and words of each essay (JSON Lines)",
    [](CLI::App& command, const GlobalOptions& globals) {
      auto options = std::make_shared<ExplainCliOptions>();
      command
          .add_option("run", options->run,
                      "A run folder from `emotune train` (its best seed), a seed folder or a "
                      "best/ folder")
          ->required()
          ->check(CLI::ExistingDirectory);
      command
          .add_option("--input", options->input,
                      "Essays to explain, as for `emotune predict --input`: .tsv or .csv with an "
                      "`essay` column (and optionally `id`), or .jsonl with {\"id\", \"essay\"} "
                      "objects")
          ->required();
      command.add_option("--out", options->out,
                         "JSON Lines file to write, one explanation per essay in input order "
                         "(default: standard output)");
      command.add_option("--outputs", options->outputs,
                         "Outputs to explain: empathy, distress, emotion:<label> (e.g. "
                         "emotion:sadness); default every output of the model");
      command.add_option("--steps", options->steps, "Gradient evaluations along the path")
          ->capture_default_str()
          ->check(CLI::Range(2, 4096));
      command
          .add_option("--baseline", options->baseline,
                      "Word embeddings the path starts from: pad (the [PAD] embedding at every "
                      "text piece) or zeros; [CLS]/[SEP] are kept")
          ->capture_default_str()
          ->check(CLI::IsMember({"pad", "zeros"}));
      command
          .add_option("--rule", options->rule,
                      "Quadrature: gauss-legendre (default; converges fastest on these smooth "
                      "paths) or trapezoid")
          ->capture_default_str()
          ->check(CLI::IsMember({"gauss-legendre", "trapezoid"}));
      command
          .add_option("--device", options->device,
                      "Where to compute: cpu, cuda or cuda:N (needs a CUDA build of libtorch)")
          ->capture_default_str();
      command.footer(
          "Each line: {id, prediction, method, outputs: [{name, value, baseline, "
          "attribution_sum, completeness_gap}], pieces, words, after}; see docs/explain.md.\n"
          "Example:\n  emotune explain runs/mt-electra --input essays.jsonl --out why.jsonl");
      command.callback([options, &globals] { run_explain(*options, globals); });
    });

}  // namespace
}  // namespace emotune::cli
