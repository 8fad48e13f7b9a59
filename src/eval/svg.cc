#include "eval/svg.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/error.h"

namespace emotune::eval {

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

constexpr const char* kFont = "font-family=\"sans-serif\"";

std::string svg_open(int width, int height, const std::string& title) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"{2}\">\n<title>{2}</title>\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
      "<text x=\"{3}\" y=\"22\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\" "
      "{4}>{2}</text>\n",
      width, height, xml_escape(title), width / 2, kFont);
}

// A "nice" step (1, 2 or 5 times a power of ten) giving about `ticks` intervals over `span`.
double nice_step(double span, int ticks) {
  const double raw = span / ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double factor : {1.0, 2.0, 5.0}) {
    if (raw <= factor * magnitude) return factor * magnitude;
  }
  return 10 * magnitude;
}

}  // namespace

std::string render_bar_chart(const BarChart& chart) {
  if (chart.bars.empty()) throw Error(fmt::format("bar chart '{}': no bars", chart.title));
  for (const auto& bar : chart.bars) {
    if (!std::isfinite(bar.value)) {
      throw Error(
          fmt::format("bar chart '{}': value of '{}' is not finite", chart.title, bar.label));
    }
  }
  const double left = 70, right = 20, top = 40, bottom = 80;
  const double plot_width = chart.width - left - right;
  const double plot_height = chart.height - top - bottom;
  double low = 0, high = 0;
  for (const auto& bar : chart.bars) {
    low = std::min(low, bar.value);
    high = std::max(high, bar.value);
  }
  if (high == low) high = low + 1;
  const double step = nice_step(high - low, 5);
  low = std::floor(low / step) * step;
  high = std::ceil(high / step) * step;
  auto y_of = [&](double v) { return top + (high - v) / (high - low) * plot_height; };

  std::string out = svg_open(chart.width, chart.height, chart.title);
  // Value axis: grid lines and tick labels.
  const int tick_decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step))));
  const int intervals = static_cast<int>(std::lround((high - low) / step));
  for (int tick = 0; tick <= intervals; ++tick) {
    // From the index, not by repeated addition, so 0 prints as "0.0" and not "-0.0".
    double v = low + step * tick;
    if (std::abs(v) < step * 1e-9) v = 0;
    const double y = y_of(v);
    out += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" font-size=\"11\" {}>{:.{}f}</text>\n",
        left, y, left + plot_width, y, left - 6, y + 4, kFont, v, tick_decimals);
  }
  const double zero_y = y_of(0);
  const double slot = plot_width / static_cast<double>(chart.bars.size());
  const double bar_width = slot * 0.7;
  for (std::size_t i = 0; i < chart.bars.size(); ++i) {
    const auto& bar = chart.bars[i];
    const double x = left + slot * static_cast<double>(i) + (slot - bar_width) / 2;
    const double y = std::min(zero_y, y_of(bar.value));
    const double h = std::abs(y_of(bar.value) - zero_y);
    const double label_y = bar.value >= 0 ? y - 4 : y + h + 13;
    out += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#4c78a8\">"
        "<title>{}: {:.{}f}</title></rect>\n"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"11\" "
        "{}>{:.{}f}</text>\n"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"12\" {}>{}</text>\n",
        x, y, bar_width, h, xml_escape(bar.label), bar.value, chart.decimals, x + bar_width / 2,
        label_y, kFont, bar.value, chart.decimals, x + bar_width / 2, top + plot_height + 18, kFont,
        xml_escape(bar.label));
  }
  // Axes and their titles.
  out += fmt::format(
      "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"black\"/>\n"
      "<line x1=\"{0:.1f}\" y1=\"{3:.1f}\" x2=\"{0:.1f}\" y2=\"{4:.1f}\" stroke=\"black\"/>\n",
      left, zero_y, left + plot_width, top, top + plot_height);
  out += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"13\" {}>{}</text>\n",
      left + plot_width / 2, chart.height - 20.0, kFont, xml_escape(chart.x_label));
  out += fmt::format(
      "<text transform=\"translate(18 {:.1f}) rotate(-90)\" text-anchor=\"middle\" "
      "font-size=\"13\" {}>{}</text>\n",
      top + plot_height / 2, kFont, xml_escape(chart.y_label));
  return out + "</svg>\n";
}

std::string render_confusion_heatmap(const HeatMap& map) {
  const std::size_t n = map.labels.size();
  if (n == 0 || map.counts.size() != n) {
    throw Error(
        fmt::format("heat map '{}': {} labels but {} rows", map.title, n, map.counts.size()));
  }
  for (const auto& row : map.counts) {
    if (row.size() != n) {
      throw Error(
          fmt::format("heat map '{}': a row has {} cells for {} labels", map.title, row.size(), n));
    }
  }
  const double left = 110, top = 80, cell = map.cell;
  // Wide enough for the title too (bold 16 px sans-serif, under 10 px a character), which
  // names the model and is often longer than the grid is wide.
  const int width = std::max(static_cast<int>(left + cell * static_cast<double>(n) + 20),
                             static_cast<int>(map.title.size()) * 10 + 20);
  const int height = static_cast<int>(top + cell * static_cast<double>(n) + 50);
  std::string out = svg_open(width, height, map.title);
  out += fmt::format(
      "<text x=\"{:.1f}\" y=\"44\" text-anchor=\"middle\" font-size=\"13\" {}>{} "
      "(columns)</text>\n",
      left + cell * static_cast<double>(n) / 2, kFont, xml_escape(map.column_axis));
  out += fmt::format(
      "<text transform=\"translate(16 {:.1f}) rotate(-90)\" text-anchor=\"middle\" "
      "font-size=\"13\" {}>{} (rows)</text>\n",
      top + cell * static_cast<double>(n) / 2, kFont, xml_escape(map.row_axis));
  for (std::size_t i = 0; i < n; ++i) {
    const std::string label = xml_escape(map.labels[i]);
    out += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"11\" {}>{}</text>\n",
        left + cell * (static_cast<double>(i) + 0.5), top - 8, kFont, label);
    out += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" font-size=\"11\" {}>{}</text>\n",
        left - 6, top + cell * (static_cast<double>(i) + 0.5) + 4, kFont, label);
  }
  for (std::size_t r = 0; r < n; ++r) {
    double total = 0;
    for (double count : map.counts[r]) total += count;
    for (std::size_t c = 0; c < n; ++c) {
      const double count = map.counts[r][c];
      const double share = total > 0 ? count / total : 0.0;
      // White to dark blue; text switches to white on dark cells to stay readable.
      const int red = static_cast<int>(std::lround(255 - share * (255 - 8)));
      const int green = static_cast<int>(std::lround(255 - share * (255 - 48)));
      const int blue = static_cast<int>(std::lround(255 - share * (255 - 107)));
      const double x = left + cell * static_cast<double>(c);
      const double y = top + cell * static_cast<double>(r);
      out += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
          "fill=\"rgb({},{},{})\" stroke=\"#ccc\"><title>{} {} / {} {}: {} "
          "({:.2f})</title></rect>\n"
          "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"12\" fill=\"{}\" "
          "{}>{:.2f}</text>\n"
          "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"9\" fill=\"{}\" "
          "{}>n={}</text>\n",
          x, y, cell, cell, red, green, blue, xml_escape(map.row_axis), xml_escape(map.labels[r]),
          xml_escape(map.column_axis), xml_escape(map.labels[c]), count, share, x + cell / 2,
          y + cell / 2, share > 0.5 ? "white" : "black", kFont, share, x + cell / 2,
          y + cell / 2 + 14, share > 0.5 ? "white" : "black", kFont, count);
    }
  }
  out += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"11\" {}>each row "
      "normalised to sum to 1</text>\n",
      left + cell * static_cast<double>(n) / 2, height - 16.0, kFont);
  return out + "</svg>\n";
}

}  // namespace emotune::eval
