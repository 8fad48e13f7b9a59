#include "serve/micro_batcher.h"

#include <exception>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace emotune::serve {

MicroBatcher::MicroBatcher(predict::Predictor& predictor, const MicroBatcherOptions& options,
                           Metrics* metrics)
    : predictor_(predictor), options_(options), metrics_(metrics) {
  if (options_.max_batch == 0) options_.max_batch = 1;
  worker_ = std::thread([this] { work(); });
}

MicroBatcher::~MicroBatcher() {
  shutdown();
}

std::future<std::vector<predict::EssayPrediction>> MicroBatcher::submit(std::vector<predict::EssayInput> essays) {
  Job job{std::move(essays), {}, std::chrono::steady_clock::now()};
  auto future = job.promise.get_future();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw QueueFull("the server is shutting down");
    if (queued_essays_ + job.essays.size() > options_.max_queue) {
      throw QueueFull(fmt::format("the queue is full ({} essays waiting, limit {})", queued_essays_,
                                  options_.max_queue));
    }
    queued_essays_ += job.essays.size();
    queue_.push_back(std::move(job));
    if (metrics_) metrics_->set_queue_depth(queued_essays_);
  }
  wake_.notify_one();
  return future;
}

std::size_t MicroBatcher::queued_essays() const {
  std::lock_guard lock(mutex_);
  return queued_essays_;
}

void MicroBatcher::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void MicroBatcher::work() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    // Give other requests until the first one's deadline to join, unless the batch is full.
    const auto deadline = queue_.front().queued_at + options_.max_wait;
    wake_.wait_until(lock, deadline,
                     [this] { return stopping_ || queued_essays_ >= options_.max_batch; });
    std::vector<Job> jobs;
    std::size_t essays = 0;
    while (!queue_.empty() &&
           (jobs.empty() || essays + queue_.front().essays.size() <= options_.max_batch)) {
      essays += queue_.front().essays.size();
      jobs.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    queued_essays_ -= essays;
    if (metrics_) metrics_->set_queue_depth(queued_essays_);
    lock.unlock();
    run_batch(jobs);
    lock.lock();
  }
}

void MicroBatcher::run_batch(std::vector<Job>& jobs) {
  std::vector<predict::EssayInput> essays;
  for (auto& job : jobs) {
    for (auto& essay : job.essays) essays.push_back(std::move(essay));
  }
  const auto started = std::chrono::steady_clock::now();
  std::vector<predict::EssayPrediction> predictions;
  try {
    predictions = predictor_.predict(essays);
    if (predictions.size() != essays.size()) {
      throw Error(fmt::format("the predictor returned {} predictions for {} essays",
                              predictions.size(), essays.size()));
    }
  } catch (...) {
    const auto error = std::current_exception();
    if (metrics_) metrics_->record_predictor_error();
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("prediction failed for a batch of {} essays: {}", essays.size(), e.what());
    } catch (...) {
      spdlog::error("prediction failed for a batch of {} essays", essays.size());
    }
    for (auto& job : jobs) job.promise.set_exception(error);
    return;
  }
  if (metrics_) {
    metrics_->record_batch(
        essays.size(),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  auto next = predictions.begin();
  for (auto& job : jobs) {
    const auto count = static_cast<std::ptrdiff_t>(job.essays.size());
    job.promise.set_value(std::vector<predict::EssayPrediction>(next, next + count));
    next += count;
  }
}

}  // namespace emotune::serve
