#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "common/error.h"
#include "predict/predictor.h"
#include "serve/metrics.h"

namespace emotune::serve {

struct MicroBatcherOptions {
  std::size_t max_batch = 32;             // essays per predictor call (a larger request
                                          // is never split: it forms a batch alone)
  std::chrono::milliseconds max_wait{5};  // how long the first queued request waits for company
  std::size_t max_queue = 1024;           // essays waiting; beyond it submit() refuses
};

// The queue is full (or the batcher is shutting down): the caller should retry later.
struct QueueFull : Error {
  using Error::Error;
};

// Merges the essays of concurrent requests into batches for one predictor, run on one
// worker thread. A batch closes when it holds max_batch essays or its first request has
// waited max_wait. A predictor exception fails every request of that batch; the worker
// carries on with the next.
class MicroBatcher {
 public:
  MicroBatcher(predict::Predictor& predictor, const MicroBatcherOptions& options,
               Metrics* metrics = nullptr);
  ~MicroBatcher();  // shutdown()
  MicroBatcher(const MicroBatcher&) = delete;
  MicroBatcher& operator=(const MicroBatcher&) = delete;

  // Queues one request's essays; the future yields their predictions in order (or the
  // predictor's exception). Throws QueueFull when they do not fit or after shutdown().
  std::future<std::vector<predict::EssayPrediction>> submit(std::vector<predict::EssayInput> essays);

  std::size_t queued_essays() const;

  // Refuses new work, finishes everything queued, stops the worker. Idempotent.
  void shutdown();

 private:
  struct Job {
    std::vector<predict::EssayInput> essays;
    std::promise<std::vector<predict::EssayPrediction>> promise;
    std::chrono::steady_clock::time_point queued_at;
  };

  void work();
  void run_batch(std::vector<Job>& jobs);

  predict::Predictor& predictor_;
  MicroBatcherOptions options_;
  Metrics* metrics_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  std::size_t queued_essays_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace emotune::serve
