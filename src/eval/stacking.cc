#include "eval/stacking.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "eval/ensemble.h"

namespace emotune::eval {
namespace {

using nlohmann::json;

// Solves A x = b (A symmetric positive definite, small) by Gaussian elimination with partial
// pivoting.
std::vector<double> solve(std::vector<std::vector<double>> a, std::vector<double> b) {
  const std::size_t n = b.size();
  for (std::size_t col = 0; col < n; ++col) {
    std::size_t pivot = col;
    for (std::size_t r = col + 1; r < n; ++r)
      if (std::abs(a[r][col]) > std::abs(a[pivot][col])) pivot = r;
    std::swap(a[col], a[pivot]);
    std::swap(b[col], b[pivot]);
    if (std::abs(a[col][col]) < 1e-300) throw Error("stacking: singular system");
    for (std::size_t r = col + 1; r < n; ++r) {
      const double f = a[r][col] / a[col][col];
      for (std::size_t c = col; c < n; ++c) a[r][c] -= f * a[col][c];
      b[r] -= f * b[col];
    }
  }
  std::vector<double> x(n);
  for (std::size_t i = n; i-- > 0;) {
    double s = b[i];
    for (std::size_t c = i + 1; c < n; ++c) s -= a[i][c] * x[c];
    x[i] = s / a[i][i];
  }
  return x;
}

StackColumn fit_column(std::span<const Predictions> oof, bool (Predictions::*has)() const,
                       std::vector<double> Predictions::*column, const std::vector<double>& y,
                       double alpha) {
  StackColumn out;
  const std::size_t n = y.size();
  for (std::size_t m = 0; m < oof.size(); ++m) {
    if (!(oof[m].*has)()) continue;
    out.members.push_back(static_cast<int>(m));
    const auto& v = oof[m].*column;
    double mean = 0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(n);
    double var = 0;
    for (double x : v) var += (x - mean) * (x - mean);
    const double sd = std::sqrt(var / static_cast<double>(n));
    out.mean.push_back(mean);
    out.std.push_back(sd > 1e-12 ? sd : 1.0);
  }
  const std::size_t k = out.members.size();
  // Centred targets; z-scored inputs have mean 0, so the intercept is the target mean.
  double y_mean = 0;
  for (double v : y) y_mean += v;
  y_mean /= static_cast<double>(n);
  std::vector<std::vector<double>> a(k, std::vector<double>(k, 0.0));
  std::vector<double> b(k, 0.0);
  std::vector<double> z(k);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < k; ++j) {
      const auto& member = oof[static_cast<std::size_t>(out.members[j])];
      z[j] = ((member.*column)[i] - out.mean[j]) / out.std[j];
    }
    for (std::size_t j = 0; j < k; ++j) {
      b[j] += z[j] * (y[i] - y_mean);
      for (std::size_t l = 0; l < k; ++l) a[j][l] += z[j] * z[l];
    }
  }
  for (std::size_t j = 0; j < k; ++j) a[j][j] += alpha;
  out.weights = solve(a, b);
  out.intercept = y_mean;
  return out;
}

std::vector<double> apply_column(std::span<const Predictions> members, const StackColumn& column,
                                 std::vector<double> Predictions::*values) {
  const std::size_t rows = members.front().size();
  std::vector<double> out(rows, column.intercept);
  for (std::size_t j = 0; j < column.members.size(); ++j) {
    const auto& member = members[static_cast<std::size_t>(column.members[j])];
    const auto& v = member.*values;
    if (v.size() != rows) throw Error("stacking: a member lacks a column it was fitted with");
    for (std::size_t r = 0; r < rows; ++r)
      out[r] += column.weights[j] * (v[r] - column.mean[j]) / column.std[j];
  }
  return out;
}

constexpr double kFloor = 1e-12;  // log of a probability below this is clamped

// Logits of the emotion stack for one row.
void emotion_logits(std::span<const Predictions> members, std::size_t row,
                    const std::vector<double>& w, const std::vector<double>& bias,
                    std::vector<double>& logits) {
  const std::size_t classes = bias.size();
  logits.assign(bias.begin(), bias.end());
  for (std::size_t m = 0; m < members.size(); ++m) {
    const auto& p = members[m].probabilities[row];
    for (std::size_t c = 0; c < classes; ++c)
      logits[c] += w[m] * std::log(std::max(p[c], kFloor));
  }
}

void softmax(std::vector<double>& v) {
  const double top = *std::max_element(v.begin(), v.end());
  double sum = 0;
  for (auto& x : v) sum += (x = std::exp(x - top));
  for (auto& x : v) x /= sum;
}

}  // namespace

Predictions keep_tasks(const Predictions& p, bool regression, bool emotion) {
  Predictions out = p;
  if (!regression || !p.has_regression) {
    out.has_regression = false;
    out.empathy_column = out.distress_column = true;
    out.empathy.clear();
    out.distress.clear();
  }
  if (!emotion || !p.has_emotion) {
    out.has_emotion = false;
    out.labels.clear();
    out.emotion.clear();
    out.probabilities.clear();
  }
  if (!out.has_regression && !out.has_emotion) {
    throw Error("stacking: a member predicts none of the stacked tasks");
  }
  return out;
}

StackModel fit_stack(std::span<const Predictions> oof, const StackTargets& targets,
                     const StackOptions& options) {
  if (oof.empty()) throw Error("stacking: no members");
  const std::size_t n = oof.front().size();
  for (std::size_t m = 0; m < oof.size(); ++m) {
    validate(oof[m]);
    if (oof[m].size() != n || oof[m].ids != oof.front().ids) {
      throw Error(fmt::format("stacking: member {}'s out-of-fold rows differ from member 1's",
                              m + 1));
    }
    if (oof[m].has_emotion != oof.front().has_emotion ||
        oof[m].has_regression != oof.front().has_regression) {
      throw Error(fmt::format("stacking: member {} has other tasks than member 1", m + 1));
    }
    if (oof[m].has_emotion && oof[m].labels != oof.front().labels) {
      throw Error(fmt::format("stacking: member {} has other emotion labels", m + 1));
    }
  }
  if (n < 10) throw Error(fmt::format("stacking: {} out-of-fold rows are too few", n));
  StackModel model;
  model.member_count = oof.size();
  model.fit_rows = n;
  const auto any = [&](bool (Predictions::*has)() const) {
    return std::any_of(oof.begin(), oof.end(), [&](const Predictions& p) { return (p.*has)(); });
  };
  if (any(&Predictions::has_empathy)) {
    if (targets.empathy.size() != n) throw Error("stacking: empathy targets differ in number");
    model.empathy = fit_column(oof, &Predictions::has_empathy, &Predictions::empathy,
                               targets.empathy, options.ridge_alpha);
  }
  if (any(&Predictions::has_distress)) {
    if (targets.distress.size() != n) throw Error("stacking: distress targets differ in number");
    model.distress = fit_column(oof, &Predictions::has_distress, &Predictions::distress,
                                targets.distress, options.ridge_alpha);
  }
  if (oof.front().has_emotion) {
    if (targets.emotion.size() != n) throw Error("stacking: emotion targets differ in number");
    model.labels = oof.front().labels;
    const std::size_t classes = model.labels.size();
    const std::size_t members = oof.size();
    std::vector<double> class_rows(classes, 0.0);
    for (int label : targets.emotion) {
      if (label < 0 || static_cast<std::size_t>(label) >= classes)
        throw Error(fmt::format("stacking: emotion target {} is not a label index", label));
      class_rows[static_cast<std::size_t>(label)] += 1;
    }
    std::vector<double> row_weight(classes, 0.0);
    for (std::size_t c = 0; c < classes; ++c)
      row_weight[c] = class_rows[c] > 0 ? static_cast<double>(n) /
                                              (static_cast<double>(classes) * class_rows[c])
                                        : 0.0;
    // Full-batch Adam from equal weights and zero biases: a smooth, convex-in-b problem with
    // members + classes parameters; deterministic.
    std::vector<double> w(members, 1.0 / static_cast<double>(members)), b(classes, 0.0);
    const std::size_t params = members + classes;
    std::vector<double> m1(params, 0.0), m2(params, 0.0), grad(params);
    std::vector<double> logits;
    const double lr = 0.02, beta1 = 0.9, beta2 = 0.999;
    for (int it = 1; it <= options.emotion_iterations; ++it) {
      std::fill(grad.begin(), grad.end(), 0.0);
      for (std::size_t i = 0; i < n; ++i) {
        emotion_logits(oof, i, w, b, logits);
        softmax(logits);
        const auto label = static_cast<std::size_t>(targets.emotion[i]);
        const double weight = row_weight[label] / static_cast<double>(n);
        for (std::size_t c = 0; c < classes; ++c) {
          const double residual = (logits[c] - (c == label ? 1.0 : 0.0)) * weight;
          grad[members + c] += residual;
          for (std::size_t m = 0; m < members; ++m)
            grad[m] += residual * std::log(std::max(oof[m].probabilities[i][c], kFloor));
        }
      }
      for (std::size_t p = 0; p < params; ++p) {
        m1[p] = beta1 * m1[p] + (1 - beta1) * grad[p];
        m2[p] = beta2 * m2[p] + (1 - beta2) * grad[p] * grad[p];
        const double step = lr * (m1[p] / (1 - std::pow(beta1, it))) /
                            (std::sqrt(m2[p] / (1 - std::pow(beta2, it))) + 1e-12);
        if (p < members) {
          w[p] = std::max(0.0, w[p] - step);
        } else {
          b[p - members] -= step;
        }
      }
    }
    model.emotion_weights = w;
    model.emotion_bias = b;
  }
  return model;
}

Predictions apply_stack(std::span<const Predictions> members, const StackModel& model) {
  if (members.size() != model.member_count) {
    throw Error(fmt::format("stacking: {} members, but the stack was fitted on {}", members.size(),
                            model.member_count));
  }
  const bool regression = model.empathy || model.distress;
  const bool emotion = !model.emotion_weights.empty();
  std::vector<Predictions> kept;
  for (const auto& member : members) kept.push_back(keep_tasks(member, regression, emotion));
  members = kept;
  check_compatible(members);
  const auto& first = members.front();
  Predictions out;
  out.ids = first.ids;
  if (model.empathy || model.distress) {
    out.has_regression = true;
    out.empathy_column = model.empathy.has_value();
    out.distress_column = model.distress.has_value();
    if (model.empathy) out.empathy = apply_column(members, *model.empathy, &Predictions::empathy);
    if (model.distress)
      out.distress = apply_column(members, *model.distress, &Predictions::distress);
  }
  if (!model.emotion_weights.empty()) {
    if (!first.has_emotion || first.labels != model.labels) {
      throw Error("stacking: the members' emotion labels differ from the fitted ones");
    }
    out.has_emotion = true;
    out.labels = model.labels;
    std::vector<double> logits;
    for (std::size_t r = 0; r < first.size(); ++r) {
      emotion_logits(members, r, model.emotion_weights, model.emotion_bias, logits);
      softmax(logits);
      out.emotion.push_back(
          static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
      out.probabilities.push_back(logits);
    }
  }
  validate(out);
  return out;
}

namespace {

json column_json(const StackColumn& c) {
  return {{"members", c.members},
          {"mean", c.mean},
          {"std", c.std},
          {"weights", c.weights},
          {"intercept", c.intercept}};
}

StackColumn column_from_json(const json& j) {
  StackColumn c;
  c.members = j.at("members").get<std::vector<int>>();
  c.mean = j.at("mean").get<std::vector<double>>();
  c.std = j.at("std").get<std::vector<double>>();
  c.weights = j.at("weights").get<std::vector<double>>();
  c.intercept = j.at("intercept").get<double>();
  if (c.mean.size() != c.members.size() || c.std.size() != c.members.size() ||
      c.weights.size() != c.members.size()) {
    throw Error("members, mean, std and weights must have the same length");
  }
  return c;
}

}  // namespace

json stack_to_json(const StackModel& model) {
  json j = {{"member_count", model.member_count}, {"fit_rows", model.fit_rows}};
  if (model.empathy) j["empathy"] = column_json(*model.empathy);
  if (model.distress) j["distress"] = column_json(*model.distress);
  if (!model.emotion_weights.empty()) {
    j["emotion"] = {{"log_probability_weights", model.emotion_weights},
                    {"bias", model.emotion_bias},
                    {"labels", model.labels}};
  }
  return j;
}

StackModel stack_from_json(const json& j, const std::string& source) {
  StackModel model;
  try {
    model.member_count = j.at("member_count").get<std::size_t>();
    model.fit_rows = j.value("fit_rows", std::size_t{0});
    if (j.contains("empathy")) model.empathy = column_from_json(j["empathy"]);
    if (j.contains("distress")) model.distress = column_from_json(j["distress"]);
    if (j.contains("emotion")) {
      const auto& e = j["emotion"];
      model.emotion_weights = e.at("log_probability_weights").get<std::vector<double>>();
      model.emotion_bias = e.at("bias").get<std::vector<double>>();
      model.labels = e.at("labels").get<std::vector<std::string>>();
      if (model.emotion_weights.size() != model.member_count ||
          model.emotion_bias.size() != model.labels.size()) {
        throw Error("emotion: one weight per member and one bias per label needed");
      }
    }
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: key 'stack': {}", source, e.what()));
  } catch (const Error& e) {
    throw Error(fmt::format("{}: key 'stack': {}", source, e.what()));
  }
  for (const auto* column : {&model.empathy, &model.distress}) {
    if (!*column) continue;
    for (int m : (*column)->members) {
      if (m < 0 || static_cast<std::size_t>(m) >= model.member_count)
        throw Error(fmt::format("{}: key 'stack': member index {} out of range", source, m));
    }
  }
  return model;
}

}  // namespace emotune::eval
