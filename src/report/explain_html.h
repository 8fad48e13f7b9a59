#pragma once

// An explanation as static HTML (the report's attribution view): the essay with every word
// shaded by its attribution to one output, in the colours of the page at `/` (orange raises
// the output, purple lowers it; opacity up to 0.6 of the largest |attribution|).

#include <cstddef>
#include <string>

#include "predict/explainer.h"

namespace emotune::report {

// <p class="attributed"> with one <span class="word"> per word (title: its attribution);
// `output` indexes explanation.outputs.
std::string attribution_html(const predict::Explanation& explanation, std::size_t output);

// The two legend swatches and their meaning.
std::string attribution_legend_html();

}  // namespace emotune::report
