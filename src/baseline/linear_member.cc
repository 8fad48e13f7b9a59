#include "baseline/linear_member.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/files.h"
#include "common/json_file.h"
#include "data/labels.h"
#include "data/wassa.h"
#include "eval/metrics.h"
#include "io/run_files.h"
#include "io/safetensors.h"

namespace emotune::baseline {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kModelJson = "linear_model.json";
constexpr std::string_view kModelWeights = "linear_model.safetensors";
// Version 2: a model with the RBF person kernel (version 1 files have none; both are read).
constexpr int kFormatVersion = 1;
constexpr int kKernelFormatVersion = 2;
constexpr std::size_t kRbfSelectionFolds = 5;

std::string_view kernel_name(PersonKernel kernel) {
  return kernel == PersonKernel::rbf ? "rbf" : "linear";
}

bool has(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Columns of `blocks` side by side (all with the same rows).
SparseMatrix hstack(const std::vector<const SparseMatrix*>& blocks) {
  SparseMatrix out;
  out.rows = blocks.front()->rows;
  out.row_offsets.push_back(0);
  for (std::size_t r = 0; r < out.rows; ++r) {
    std::size_t offset = 0;
    for (const auto* block : blocks) {
      for (std::size_t i = block->row_offsets[r]; i < block->row_offsets[r + 1]; ++i) {
        out.columns.push_back(block->columns[i] + static_cast<std::int64_t>(offset));
        out.values.push_back(block->values[i]);
      }
      offset += block->cols;
    }
    out.row_offsets.push_back(out.values.size());
  }
  for (const auto* block : blocks) out.cols += block->cols;
  return out;
}

SparseMatrix dense_block(const std::vector<std::vector<double>>& rows, std::size_t cols,
                         double scale) {
  SparseMatrix out;
  out.rows = rows.size();
  out.cols = cols;
  out.row_offsets.push_back(0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < cols; ++c) {
      if (row[c] == 0.0) continue;
      out.columns.push_back(static_cast<std::int64_t>(c));
      out.values.push_back(row[c] * scale);
    }
    out.row_offsets.push_back(out.values.size());
  }
  return out;
}

json tfidf_json(const TfidfOptions& o) {
  return {{"min_n", o.min_n},         {"max_n", o.max_n},
          {"min_df", o.min_df},       {"lowercase", o.lowercase},
          {"sublinear_tf", o.sublinear_tf}, {"characters", o.characters}};
}

TfidfOptions tfidf_from_json(const json& j) {
  TfidfOptions o;
  o.min_n = j.at("min_n").get<std::size_t>();
  o.max_n = j.at("max_n").get<std::size_t>();
  o.min_df = j.at("min_df").get<std::size_t>();
  o.lowercase = j.at("lowercase").get<bool>();
  o.sublinear_tf = j.at("sublinear_tf").get<bool>();
  o.characters = j.at("characters").get<bool>();
  return o;
}

LinearMemberOptions options_from_json(const json& j) {
  LinearMemberOptions o;
  o.tasks = j.at("tasks").get<std::vector<std::string>>();
  o.words = j.at("words").get<bool>();
  o.characters = j.at("characters").get<bool>();
  o.person = j.at("person").get<bool>();
  o.word_ngrams = tfidf_from_json(j.at("word_ngrams"));
  o.char_ngrams = tfidf_from_json(j.at("char_ngrams"));
  o.person_scale = j.at("person_scale").get<double>();
  o.person_kernel = parse_person_kernel(j.value("person_kernel", "linear"));
  o.rbf_gamma = j.value("rbf_gamma", 0.0);
  o.ridge_alpha = j.at("ridge_alpha").get<double>();
  o.logistic.c = j.at("logistic_c").get<double>();
  o.logistic.balanced = j.at("logistic_balanced").get<bool>();
  o.folds = j.at("folds").get<std::size_t>();
  return o;
}

std::span<const std::byte> bytes_of(const std::vector<double>& values) {
  return std::as_bytes(std::span<const double>(values));
}

std::vector<double> read_f64(const io::SafetensorsFile& file, std::string_view name,
                             std::size_t expected) {
  const auto& info = file.at(name);
  if (info.dtype != io::DType::F64) {
    throw error_in(file.path(), fmt::format("tensor {}: expected F64", name));
  }
  const auto data = file.data(info);
  if (data.size() != expected * sizeof(double)) {
    throw error_in(file.path(), fmt::format("tensor {}: {} bytes, expected {} values", name,
                                            data.size(), expected));
  }
  std::vector<double> out(expected);
  std::memcpy(out.data(), data.data(), data.size());
  return out;
}

void check_options(const LinearMemberOptions& options) {
  if (options.tasks.empty()) throw Error("linear member: no tasks");
  for (const auto& task : options.tasks) {
    if (task != "empathy" && task != "distress" && task != "emotion") {
      throw Error(fmt::format(
          "linear member: unknown task '{}' (expected empathy, distress or emotion)", task));
    }
  }
  if (!options.words && !options.characters && !options.person) {
    throw Error("linear member: no inputs (choose word n-grams, char n-grams and/or person)");
  }
  if (options.folds == 1) throw Error("linear member: folds must be 0 (none) or at least 2");
  if (options.person_kernel == PersonKernel::rbf) {
    if (!options.person)
      throw Error("linear member: the RBF person kernel needs the person input");
    if (has(options.tasks, "emotion"))
      throw Error("linear member: the RBF person kernel serves empathy and distress only; train "
                  "emotion with the linear person kernel (tasks: empathy,distress)");
    if (options.rbf_gamma < 0 || (options.rbf_gamma > 0 && !(options.person_scale > 0)))
      throw Error(fmt::format("linear member: RBF gamma {} and scale {}: both must be positive "
                              "(gamma 0: chosen on train)",
                              options.rbf_gamma, options.person_scale));
  }
}

}  // namespace

PersonKernel parse_person_kernel(const std::string& name) {
  if (name == "linear") return PersonKernel::linear;
  if (name == "rbf") return PersonKernel::rbf;
  throw Error(fmt::format("unknown person kernel '{}' (expected linear or rbf)", name));
}

std::vector<std::pair<std::string, RbfChoice>> LinearModel::kernel_settings() const {
  std::vector<std::pair<std::string, RbfChoice>> out;
  if (!kernel_) return out;
  for (std::size_t t = 0; t < kernel_->targets().size(); ++t)
    out.emplace_back(ridge_tasks_[t],
                     RbfChoice{kernel_->targets()[t].setting, kernel_out_of_fold_r_[t]});
  return out;
}

json linear_options_json(const LinearMemberOptions& o) {
  return {{"tasks", o.tasks},
          {"words", o.words},
          {"characters", o.characters},
          {"person", o.person},
          {"word_ngrams", tfidf_json(o.word_ngrams)},
          {"char_ngrams", tfidf_json(o.char_ngrams)},
          {"person_scale", o.person_scale},
          {"person_kernel", kernel_name(o.person_kernel)},
          {"rbf_gamma", o.rbf_gamma},
          {"ridge_alpha", o.ridge_alpha},
          {"logistic_c", o.logistic.c},
          {"logistic_balanced", o.logistic.balanced},
          {"folds", o.folds}};
}

std::vector<std::string> LinearModel::inputs() const {
  std::vector<std::string> out;
  if (options_.words || options_.characters) out.emplace_back("text");
  if (options_.person) out.emplace_back("person");
  return out;
}

std::size_t LinearModel::feature_count() const {
  std::size_t n = 0;
  if (words_) n += words_->terms().size();
  if (characters_) n += characters_->terms().size();
  if (person_) n += person_->dimension();
  return n;
}

LinearModel::Blocks LinearModel::blocks(const std::vector<LinearInput>& rows,
                                        bool fit_vectorizers, const std::vector<std::string>* ids) {
  std::vector<std::string> texts;
  texts.reserve(rows.size());
  for (const auto& row : rows) texts.push_back(row.text);
  std::vector<SparseMatrix> text_blocks;
  if (options_.words) {
    if (fit_vectorizers) {
      words_.emplace(options_.word_ngrams);
      text_blocks.push_back(words_->fit_transform(texts));
    } else {
      text_blocks.push_back(words_->transform(texts));
    }
  }
  if (options_.characters) {
    if (fit_vectorizers) {
      characters_.emplace(options_.char_ngrams);
      text_blocks.push_back(characters_->fit_transform(texts));
    } else {
      text_blocks.push_back(characters_->transform(texts));
    }
  }
  Blocks out;
  if (!text_blocks.empty()) {
    std::vector<const SparseMatrix*> pointers;
    for (const auto& block : text_blocks) pointers.push_back(&block);
    out.text = hstack(pointers);
  }
  if (options_.person) {
    std::vector<data::PersonValues> values;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (!rows[i].person) {
        throw Error(fmt::format(
            "essay {}: the linear model reads person features, but the essay has none ({})",
            ids ? (*ids)[i] : std::to_string(i + 1), fmt::join(data::kPersonColumns, ", ")));
      }
      values.push_back(*rows[i].person);
    }
    // Standardization from the rows being fitted on (train) only; predict reuses it.
    if (fit_vectorizers) person_ = data::PersonEncoder::fit(values);
    for (std::size_t i = 0; i < values.size(); ++i) {
      out.person.push_back(person_->encode(
          values[i], fmt::format("essay {}", ids ? (*ids)[i] : std::to_string(i + 1))));
    }
  }
  return out;
}

SparseMatrix LinearModel::features(const Blocks& blocks) const {
  std::vector<const SparseMatrix*> pointers;
  if (blocks.text) pointers.push_back(&*blocks.text);
  SparseMatrix person;
  if (person_) {
    person = dense_block(blocks.person, person_->dimension(), options_.person_scale);
    pointers.push_back(&person);
  }
  return hstack(pointers);
}

LinearModel LinearModel::fit(const LinearMemberOptions& options,
                             const std::vector<LinearInput>& rows, const LinearTargets& targets) {
  check_options(options);
  if (rows.empty()) throw Error("linear member: no training rows");
  LinearModel model;
  model.options_ = options;
  const auto blocks = model.blocks(rows, /*fit_vectorizers=*/true, nullptr);
  std::vector<std::vector<double>> ridge_targets;
  for (const char* task : {"empathy", "distress"}) {
    if (!has(options.tasks, task)) continue;
    const auto& values = std::string_view(task) == "empathy" ? targets.empathy : targets.distress;
    if (values.size() != rows.size()) {
      throw Error(fmt::format("linear member: {} {} targets for {} rows", values.size(), task,
                              rows.size()));
    }
    ridge_targets.push_back(values);
    model.ridge_tasks_.emplace_back(task);
  }
  const SparseMatrix* text = blocks.text ? &*blocks.text : nullptr;
  if (options.person_kernel == PersonKernel::rbf) {
    std::vector<RbfChoice> choices;
    if (options.rbf_gamma > 0) {
      choices.assign(ridge_targets.size(),
                     RbfChoice{{options.person_scale, options.rbf_gamma}, 0.0});
    } else {
      if (targets.writers.size() != rows.size()) {
        throw Error(fmt::format("linear member: choosing the RBF setting needs the writer of "
                                "every row ({} writers for {} rows)",
                                targets.writers.size(), rows.size()));
      }
      choices = choose_rbf_settings(text, blocks.person, ridge_targets,
                                    data::writer_folds(targets.writers, kRbfSelectionFolds),
                                    options.ridge_alpha, default_rbf_grid());
    }
    std::vector<RbfSetting> settings;
    for (const auto& choice : choices) {
      settings.push_back(choice.setting);
      model.kernel_out_of_fold_r_.push_back(choice.out_of_fold_r);
    }
    KernelRidge kernel;
    kernel.fit(text, blocks.person, ridge_targets, options.ridge_alpha, settings);
    model.kernel_ = std::move(kernel);
    return model;
  }
  const auto x = model.features(blocks);
  if (!ridge_targets.empty()) {
    RidgeRegression ridge;
    ridge.fit(x, ridge_targets, options.ridge_alpha);
    model.ridge_ = std::move(ridge);
  }
  if (has(options.tasks, "emotion")) {
    LogisticRegression logistic;
    logistic.fit(x, targets.emotion, static_cast<int>(data::kNumEmotions), options.logistic);
    model.logistic_ = std::move(logistic);
  }
  return model;
}

eval::Predictions LinearModel::predict(const std::vector<LinearInput>& rows,
                                       const std::vector<std::string>& ids) const {
  if (ids.size() != rows.size()) throw Error("linear member: ids and rows differ in number");
  // blocks() only writes the fitted state when asked to fit.
  const auto blocks = const_cast<LinearModel*>(this)->blocks(rows, /*fit_vectorizers=*/false, &ids);
  eval::Predictions out;
  out.ids = ids;
  if (ridge_ || kernel_) {
    const auto values = kernel_ ? kernel_->predict(blocks.text ? &*blocks.text : nullptr, blocks.person)
                                : ridge_->predict(features(blocks));
    out.has_regression = true;
    out.empathy_column = has(ridge_tasks_, "empathy");
    out.distress_column = has(ridge_tasks_, "distress");
    for (std::size_t t = 0; t < ridge_tasks_.size(); ++t) {
      (ridge_tasks_[t] == "empathy" ? out.empathy : out.distress) = values[t];
    }
  }
  if (logistic_) {
    out.has_emotion = true;
    out.labels.assign(data::kEmotionLabels.begin(), data::kEmotionLabels.end());
    const auto probabilities = logistic_->predict_proba(features(blocks));
    const auto k = static_cast<std::size_t>(logistic_->classes());
    for (std::size_t r = 0; r < rows.size(); ++r) {
      std::vector<double> row(probabilities.begin() + static_cast<std::ptrdiff_t>(r * k),
                              probabilities.begin() + static_cast<std::ptrdiff_t>((r + 1) * k));
      out.emotion.push_back(static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin()));
      out.probabilities.push_back(std::move(row));
    }
  }
  eval::validate(out);
  return out;
}

void LinearModel::save(const fs::path& dir) const {
  fs::create_directories(dir);
  json model = {{"format", "emotune-linear"},
                {"version", kernel_ ? kKernelFormatVersion : kFormatVersion},
                {"options", linear_options_json(options_)},
                {"ridge_tasks", ridge_tasks_}};
  std::map<std::string, io::TensorBytes> tensors;
  std::vector<std::vector<double>> keep;  // bytes must outlive write_safetensors
  keep.reserve(16);
  const auto add = [&](const std::string& name, std::vector<double> values,
                       std::vector<std::int64_t> shape) {
    keep.push_back(std::move(values));
    tensors[name] = io::TensorBytes{io::DType::F64, std::move(shape), bytes_of(keep.back())};
  };
  if (words_) {
    model["word_terms"] = words_->terms();
    add("word_idf", words_->idf(), {static_cast<std::int64_t>(words_->idf().size())});
  }
  if (characters_) {
    model["char_terms"] = characters_->terms();
    add("char_idf", characters_->idf(), {static_cast<std::int64_t>(characters_->idf().size())});
  }
  const auto features = static_cast<std::int64_t>(feature_count());
  if (ridge_) {
    std::vector<double> flat;
    for (const auto& w : ridge_->weights()) flat.insert(flat.end(), w.begin(), w.end());
    add("ridge_weight", std::move(flat),
        {static_cast<std::int64_t>(ridge_->weights().size()), features});
    add("ridge_intercept", ridge_->intercepts(),
        {static_cast<std::int64_t>(ridge_->intercepts().size())});
  }
  if (kernel_) {
    const auto& support = kernel_->support();
    const auto n = static_cast<std::int64_t>(support.size());
    const auto width = static_cast<std::int64_t>(support.front().size());
    std::vector<double> flat_support, coefficients, text_weights, intercepts;
    for (const auto& row : support) flat_support.insert(flat_support.end(), row.begin(), row.end());
    json settings = json::array();
    for (std::size_t t = 0; t < kernel_->targets().size(); ++t) {
      const auto& target = kernel_->targets()[t];
      coefficients.insert(coefficients.end(), target.coefficients.begin(), target.coefficients.end());
      text_weights.insert(text_weights.end(), target.text_weights.begin(), target.text_weights.end());
      intercepts.push_back(target.intercept);
      settings.push_back({{"task", ridge_tasks_[t]},
                          {"scale", target.setting.scale},
                          {"gamma", target.setting.gamma},
                          {"out_of_fold_r", kernel_out_of_fold_r_[t]}});
    }
    const auto k = static_cast<std::int64_t>(kernel_->targets().size());
    model["kernel"] = {{"settings", settings},
                       {"chosen_on", options_.rbf_gamma > 0
                                         ? "given"
                                         : "5-fold out-of-fold Pearson r on the training rows, "
                                           "folds grouped by writer"}};
    add("kernel_support", std::move(flat_support), {n, width});
    add("kernel_coefficients", std::move(coefficients), {k, n});
    add("kernel_intercept", std::move(intercepts), {k});
    if (kernel_->text_features() > 0)
      add("kernel_text_weight", std::move(text_weights),
          {k, static_cast<std::int64_t>(kernel_->text_features())});
  }
  if (logistic_) {
    add("logistic_weight", logistic_->weights(), {features, logistic_->classes()});
    add("logistic_bias", logistic_->bias(), {logistic_->classes()});
  }
  io::write_safetensors(dir / kModelWeights, tensors);
  write_file_atomic(dir / kModelJson, model.dump() + "\n");
  if (person_) person_->save(dir / data::kPersonStandardizationFile);
}

LinearModel LinearModel::load(const fs::path& dir) {
  const auto json_file = dir / kModelJson;
  LinearModel model;
  try {
    const json j = json::parse(read_file(json_file));
    const int version = j.value("version", 0);
    if (j.value("format", "") != "emotune-linear" ||
        (version != kFormatVersion && version != kKernelFormatVersion)) {
      throw Error(fmt::format("{}: not an emotune linear model (format version {} or {})",
                              json_file.string(), kFormatVersion, kKernelFormatVersion));
    }
    model.options_ = options_from_json(j.at("options"));
    model.ridge_tasks_ = j.at("ridge_tasks").get<std::vector<std::string>>();
    check_options(model.options_);
    const io::SafetensorsFile weights(dir / kModelWeights);
    if (model.options_.words) {
      auto terms = j.at("word_terms").get<std::vector<std::string>>();
      auto idf = read_f64(weights, "word_idf", terms.size());
      model.words_ = TfidfVectorizer::from_vocabulary(model.options_.word_ngrams,
                                                      std::move(terms), std::move(idf));
    }
    if (model.options_.characters) {
      auto terms = j.at("char_terms").get<std::vector<std::string>>();
      auto idf = read_f64(weights, "char_idf", terms.size());
      model.characters_ = TfidfVectorizer::from_vocabulary(model.options_.char_ngrams,
                                                           std::move(terms), std::move(idf));
    }
    if (model.options_.person) {
      model.person_ = data::PersonEncoder::load(dir / data::kPersonStandardizationFile);
    }
    const std::size_t features = model.feature_count();
    if (model.options_.person_kernel == PersonKernel::rbf) {
      const auto& settings = j.at("kernel").at("settings");
      const std::size_t k = model.ridge_tasks_.size();
      if (settings.size() != k || k == 0)
        throw Error(fmt::format("{}: {} kernel settings for {} regression tasks",
                                json_file.string(), settings.size(), k));
      const std::size_t width = model.person_->dimension();
      const auto& support_info = weights.at("kernel_support");
      if (support_info.shape.size() != 2 || support_info.shape[1] != static_cast<std::int64_t>(width))
        throw error_in(weights.path(), "tensor kernel_support: expected [rows, person dimension]");
      const auto n = static_cast<std::size_t>(support_info.shape[0]);
      const auto flat_support = read_f64(weights, "kernel_support", n * width);
      DenseRows support;
      for (std::size_t r = 0; r < n; ++r)
        support.emplace_back(flat_support.begin() + static_cast<std::ptrdiff_t>(r * width),
                             flat_support.begin() + static_cast<std::ptrdiff_t>((r + 1) * width));
      const std::size_t text_features = features - width;
      const auto coefficients = read_f64(weights, "kernel_coefficients", k * n);
      const auto intercepts = read_f64(weights, "kernel_intercept", k);
      std::vector<double> text_weights;
      if (text_features > 0)
        text_weights = read_f64(weights, "kernel_text_weight", k * text_features);
      std::vector<KernelRidge::Target> targets;
      for (std::size_t t = 0; t < k; ++t) {
        KernelRidge::Target target;
        target.setting = {settings[t].at("scale").get<double>(), settings[t].at("gamma").get<double>()};
        target.coefficients.assign(coefficients.begin() + static_cast<std::ptrdiff_t>(t * n),
                                   coefficients.begin() + static_cast<std::ptrdiff_t>((t + 1) * n));
        if (text_features > 0)
          target.text_weights.assign(
              text_weights.begin() + static_cast<std::ptrdiff_t>(t * text_features),
              text_weights.begin() + static_cast<std::ptrdiff_t>((t + 1) * text_features));
        target.intercept = intercepts[t];
        if (settings[t].at("task").get<std::string>() != model.ridge_tasks_[t])
          throw Error(fmt::format("{}: kernel setting {} is for '{}', expected '{}' (ridge_tasks)",
                                  json_file.string(), t + 1,
                                  settings[t].at("task").get<std::string>(),
                                  model.ridge_tasks_[t]));
        model.kernel_out_of_fold_r_.push_back(settings[t].value("out_of_fold_r", 0.0));
        targets.push_back(std::move(target));
      }
      model.kernel_ = KernelRidge::from_parameters(std::move(support), text_features, std::move(targets));
    } else if (!model.ridge_tasks_.empty()) {
      const std::size_t k = model.ridge_tasks_.size();
      const auto flat = read_f64(weights, "ridge_weight", k * features);
      std::vector<std::vector<double>> w;
      for (std::size_t t = 0; t < k; ++t) {
        w.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(t * features),
                       flat.begin() + static_cast<std::ptrdiff_t>((t + 1) * features));
      }
      model.ridge_ = RidgeRegression::from_parameters(std::move(w),
                                                      read_f64(weights, "ridge_intercept", k));
    }
    if (has(model.options_.tasks, "emotion")) {
      const auto classes = static_cast<int>(data::kNumEmotions);
      model.logistic_ = LogisticRegression::from_parameters(
          classes, read_f64(weights, "logistic_weight", features * data::kNumEmotions),
          read_f64(weights, "logistic_bias", data::kNumEmotions));
    }
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: {}", json_file.string(), e.what()));
  }
  return model;
}

bool is_linear_run(const fs::path& dir) {
  return io::ModelManifest::present_in(dir) &&
         io::ModelManifest::read(dir).kind == io::ModelKind::linear;
}

namespace {

std::vector<LinearInput> inputs_of(const data::WassaSplit& split, bool person) {
  std::vector<LinearInput> rows;
  std::optional<std::vector<data::PersonValues>> persons;
  if (person) persons = data::split_person_values(split);
  for (std::size_t i = 0; i < split.rows.size(); ++i) {
    rows.push_back({split.rows[i].text, persons ? std::optional((*persons)[i]) : std::nullopt});
  }
  return rows;
}

std::vector<std::string> ids_of(const data::WassaSplit& split) {
  std::vector<std::string> ids;
  for (const auto& row : split.rows) ids.push_back(row.id);
  return ids;
}

LinearTargets targets_of(const data::WassaSplit& split) {
  LinearTargets t;
  for (const auto& row : split.rows) {
    const auto& file = split.gold_file.empty() ? split.file : split.gold_file;
    if (!row.empathy || !row.distress || !row.emotion) {
      throw error_at(file, row.gold_line ? row.gold_line : row.line, "no gold labels");
    }
    t.empathy.push_back(*row.empathy);
    t.distress.push_back(*row.distress);
    t.emotion.push_back(*row.emotion);
    t.writers.push_back(row.response_id);
  }
  return t;
}

template <typename T>
std::vector<T> pick(const std::vector<T>& values, const std::vector<std::size_t>& at) {
  std::vector<T> out;
  if (values.empty()) return out;
  for (auto i : at) out.push_back(values[i]);
  return out;
}

}  // namespace

LinearRunReport train_linear_run(const fs::path& data_dir, const LinearMemberOptions& options,
                                 const fs::path& out) {
  check_options(options);
  const auto train = data::load_wassa(data_dir, data::Split::train);
  const auto dev = data::load_wassa(data_dir, data::Split::dev);
  const auto train_rows = inputs_of(train, options.person);
  const auto dev_rows = inputs_of(dev, options.person);
  const auto targets = targets_of(train);
  const auto model = LinearModel::fit(options, train_rows, targets);

  LinearRunReport report;
  report.dir = out;
  report.features = model.feature_count();
  report.kernel_settings = model.kernel_settings();
  report.dev = model.predict(dev_rows, ids_of(dev));
  const auto gold = targets_of(dev);
  if (report.dev.has_both_regression()) {
    report.track1 = eval::track1_scores(gold.empathy, gold.distress, report.dev.empathy,
                                        report.dev.distress);
  }
  if (report.dev.has_emotion) {
    report.track2 = eval::classification_scores(gold.emotion, eval::official_emotion_ids(report.dev));
  }

  fs::create_directories(out);
  model.save(out);
  // Out-of-fold predictions on train, for stacking: row i is predicted by the model fitted on
  // the other folds (its vectorizers and person standardization too).
  if (options.folds >= 2) {
    const std::size_t k = options.folds;
    const auto ids = ids_of(train);
    const auto fold_of = data::writer_folds(train.rows, k);
    eval::Predictions oof;
    std::vector<eval::Predictions> parts;
    std::vector<std::size_t> order;
    for (std::size_t fold = 0; fold < k; ++fold) {
      std::vector<std::size_t> fit_at, held_at;
      for (std::size_t i = 0; i < train_rows.size(); ++i) (fold_of[i] == fold ? held_at : fit_at).push_back(i);
      LinearTargets fold_targets{pick(targets.empathy, fit_at), pick(targets.distress, fit_at),
                                 pick(targets.emotion, fit_at), pick(targets.writers, fit_at)};
      const auto fold_model = LinearModel::fit(options, pick(train_rows, fit_at), fold_targets);
      parts.push_back(fold_model.predict(pick(train_rows, held_at), pick(ids, held_at)));
      order.insert(order.end(), held_at.begin(), held_at.end());
    }
    // Back into train order.
    std::vector<std::pair<std::size_t, std::size_t>> where(train_rows.size());
    std::size_t at = 0;
    for (std::size_t fold = 0; fold < k; ++fold)
      for (std::size_t r = 0; r < parts[fold].size(); ++r) where[order[at++]] = {fold, r};
    const auto& first = parts.front();
    oof.has_regression = first.has_regression;
    oof.empathy_column = first.empathy_column;
    oof.distress_column = first.distress_column;
    oof.has_emotion = first.has_emotion;
    oof.labels = first.labels;
    for (std::size_t i = 0; i < train_rows.size(); ++i) {
      const auto& [fold, r] = where[i];
      const auto& part = parts[fold];
      oof.ids.push_back(part.ids[r]);
      if (part.has_empathy()) oof.empathy.push_back(part.empathy[r]);
      if (part.has_distress()) oof.distress.push_back(part.distress[r]);
      if (part.has_emotion) {
        oof.emotion.push_back(part.emotion[r]);
        oof.probabilities.push_back(part.probabilities[r]);
      }
    }
    const auto oof_dir = out / kOutOfFoldDir;
    fs::create_directories(oof_dir);
    eval::write_predictions(oof_dir / "predictions.tsv", oof);
    write_json(oof_dir / "oof.json", json{{"split", "train"},
                                          {"scheme", "k-fold"},
                                          {"folds", k},
                                          {"assignment", "grouped by writer: writer w (in order of first appearance) in fold w mod k"},
                                          {"rows", oof.size()}});
  }

  json dev_scores = json::object();
  if (report.track1) {
    dev_scores["pearson_empathy"] = report.track1->empathy;
    dev_scores["pearson_distress"] = report.track1->distress;
    dev_scores["pearson_average"] = report.track1->average;
  } else if (report.dev.has_empathy()) {
    dev_scores["pearson_empathy"] = eval::pearson_unrounded(gold.empathy, report.dev.empathy);
  } else if (report.dev.has_distress()) {
    dev_scores["pearson_distress"] = eval::pearson_unrounded(gold.distress, report.dev.distress);
  }
  if (report.track2) {
    dev_scores["macro_f1"] = report.track2->macro_f1;
    dev_scores["accuracy"] = report.track2->accuracy;
  }
  io::ModelManifest manifest;
  manifest.kind = io::ModelKind::linear;
  manifest.model_type = "linear";
  for (const Task task : kAllTasks)
    if (has(options.tasks, task_name(task))) manifest.tasks.push_back(task);
  manifest.inputs = model.inputs();
  manifest.details = {{"features", report.features}};
  manifest.write(out);
  io::RunSummary summary;
  summary.kind = io::ModelKind::linear;
  summary.details = {{"options", linear_options_json(options)},
                     {"features", report.features},
                     {"dev", dev_scores}};
  for (const auto& [task, choice] : report.kernel_settings) {
    summary.details["rbf"][task] = {{"scale", choice.setting.scale},
                                    {"gamma", choice.setting.gamma},
                                    {"out_of_fold_r", choice.out_of_fold_r}};
  }
  summary.write(out);
  return report;
}

}  // namespace emotune::baseline
