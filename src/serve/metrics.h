#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace emotune::serve {

// Cumulative histogram in the Prometheus sense: counts per upper bound, plus sum and count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // The exposition lines of metric `name` (no HELP/TYPE lines).
  std::string render(const std::string& name) const;
  std::uint64_t count() const { return count_; }
  // Observations above `bound` (bound must be one of the upper bounds; for tests).
  std::uint64_t count_above(double bound) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> buckets_;  // non-cumulative, one per bound
  std::uint64_t count_ = 0;
  double sum_ = 0.0;
};

// The service's counters, safe to update from any thread; rendered in the Prometheus text
// exposition format (version 0.0.4) for GET /metrics.
class Metrics {
 public:
  Metrics();

  void record_response(int status);
  void record_request_latency(double seconds);
  void record_batch(std::size_t essays, double seconds);
  void record_predictor_error();
  void set_queue_depth(std::size_t essays);

  std::string render() const;

  // Snapshot accessors for tests.
  std::uint64_t responses(int status) const;
  std::uint64_t batches() const;
  std::uint64_t batches_larger_than(double essays) const;
  std::uint64_t predictor_errors() const;

 private:
  mutable std::mutex mutex_;
  std::map<int, std::uint64_t> responses_by_status_;
  std::uint64_t predictor_errors_ = 0;
  std::uint64_t essays_ = 0;
  std::size_t queue_depth_ = 0;
  Histogram request_latency_;
  Histogram batch_size_;
  Histogram batch_latency_;
};

}  // namespace emotune::serve
