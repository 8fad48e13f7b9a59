#include "serve/metrics.h"

#include <algorithm>

#include <fmt/format.h>

namespace emotune::serve {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), buckets_(bounds_.size(), 0) {}

void Histogram::observe(double value) {
  const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  if (static_cast<std::size_t>(bucket) < buckets_.size()) ++buckets_[bucket];
  ++count_;
  sum_ += value;
}

std::uint64_t Histogram::count_above(double bound) const {
  std::uint64_t at_or_below = 0;
  for (std::size_t i = 0; i < bounds_.size() && bounds_[i] <= bound; ++i)
    at_or_below += buckets_[i];
  return count_ - at_or_below;
}

std::string Histogram::render(const std::string& name) const {
  std::string out;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, count_);
  out += fmt::format("{}_sum {}\n{}_count {}\n", name, sum_, name, count_);
  return out;
}

Metrics::Metrics()
    : request_latency_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      batch_size_({1, 2, 4, 8, 16, 32, 64, 128, 256, 512}),
      batch_latency_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}) {}

void Metrics::record_response(int status) {
  std::lock_guard lock(mutex_);
  ++responses_by_status_[status];
}

void Metrics::record_request_latency(double seconds) {
  std::lock_guard lock(mutex_);
  request_latency_.observe(seconds);
}

void Metrics::record_batch(std::size_t essays, double seconds) {
  std::lock_guard lock(mutex_);
  batch_size_.observe(static_cast<double>(essays));
  batch_latency_.observe(seconds);
  essays_ += essays;
}

void Metrics::record_predictor_error() {
  std::lock_guard lock(mutex_);
  ++predictor_errors_;
}

void Metrics::set_queue_depth(std::size_t essays) {
  std::lock_guard lock(mutex_);
  queue_depth_ = essays;
}

std::uint64_t Metrics::responses(int status) const {
  std::lock_guard lock(mutex_);
  const auto found = responses_by_status_.find(status);
  return found == responses_by_status_.end() ? 0 : found->second;
}

std::uint64_t Metrics::batches() const {
  std::lock_guard lock(mutex_);
  return batch_size_.count();
}

std::uint64_t Metrics::batches_larger_than(double essays) const {
  std::lock_guard lock(mutex_);
  return batch_size_.count_above(essays);
}

std::uint64_t Metrics::predictor_errors() const {
  std::lock_guard lock(mutex_);
  return predictor_errors_;
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out += "# HELP emotune_http_requests_total HTTP responses sent, by status code.\n";
  out += "# TYPE emotune_http_requests_total counter\n";
  for (const auto& [status, count] : responses_by_status_) {
    out += fmt::format("emotune_http_requests_total{{status=\"{}\"}} {}\n", status, count);
  }
  out += "# HELP emotune_predictor_errors_total Batches whose prediction failed.\n";
  out += "# TYPE emotune_predictor_errors_total counter\n";
  out += fmt::format("emotune_predictor_errors_total {}\n", predictor_errors_);
  out += "# HELP emotune_essays_predicted_total Essays run through the model.\n";
  out += "# TYPE emotune_essays_predicted_total counter\n";
  out += fmt::format("emotune_essays_predicted_total {}\n", essays_);
  out += "# HELP emotune_queue_depth Essays waiting for a batch.\n";
  out += "# TYPE emotune_queue_depth gauge\n";
  out += fmt::format("emotune_queue_depth {}\n", queue_depth_);
  out +=
      "# HELP emotune_request_duration_seconds Time from receiving a predict request to answering "
      "it.\n";
  out += "# TYPE emotune_request_duration_seconds histogram\n";
  out += request_latency_.render("emotune_request_duration_seconds");
  out += "# HELP emotune_batch_size_essays Essays per model batch.\n";
  out += "# TYPE emotune_batch_size_essays histogram\n";
  out += batch_size_.render("emotune_batch_size_essays");
  out += "# HELP emotune_batch_duration_seconds Time the model took per batch.\n";
  out += "# TYPE emotune_batch_duration_seconds histogram\n";
  out += batch_latency_.render("emotune_batch_duration_seconds");
  return out;
}

}  // namespace emotune::serve
