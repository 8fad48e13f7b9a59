#include "report/explain_html.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/error.h"
#include "eval/svg.h"

namespace emotune::report {

namespace {
constexpr const char* kRaises = "230, 97, 1";
constexpr const char* kLowers = "94, 60, 153";
}  // namespace

std::string attribution_html(const predict::Explanation& explanation, std::size_t output) {
  if (output >= explanation.outputs.size()) {
    throw Error(fmt::format("attribution view: output {} of {}", output, explanation.outputs.size()));
  }
  double scale = 0;
  for (const auto& word : explanation.words) {
    scale = std::max(scale, std::abs(word.attributions.at(output)));
  }
  std::string html = "<p class=\"attributed\">";
  for (const auto& word : explanation.words) {
    const double value = word.attributions.at(output);
    html += eval::xml_escape(word.before);
    const double alpha = scale > 0 ? std::min(1.0, std::abs(value) / scale) * 0.6 : 0.0;
    html += fmt::format(
        "<span class=\"word\" style=\"background-color:rgba({}, {:.3f})\" title=\"{}\">{}</span>",
        value >= 0 ? kRaises : kLowers, alpha,
        word.truncated ? std::string("beyond max_length: not seen") : fmt::format("{:+.4f}", value),
        eval::xml_escape(word.text));
  }
  html += eval::xml_escape(explanation.after) + "</p>";
  return html;
}

std::string attribution_legend_html() {
  return fmt::format(
      "<p><span class=\"swatch\" style=\"background:rgba({}, 0.6)\"></span> raises the output "
      "&nbsp; <span class=\"swatch\" style=\"background:rgba({}, 0.6)\"></span> lowers it "
      "(integrated gradients; the stronger the shade, the larger the word's share)</p>",
      kRaises, kLowers);
}

}  // namespace emotune::report
