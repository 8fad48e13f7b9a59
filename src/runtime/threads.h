#pragma once

namespace emotune::runtime {

// Sets libtorch's intra-op (and OpenMP/BLAS) thread count; n <= 0 means every core.
// libtorch defaults to 1 thread on these machines, so every entry point calls this.
// Returns the count in effect.
int configure_threads(int n);

int hardware_threads();

// Limits libtorch's intra-op threads (and with them oneDNN's, an OpenMP BLAS's and MKL's) on the
// calling thread alone, for the guard's lifetime, leaving the process-wide count
// (configure_threads) and every other thread as they are: what lets several batches run at
// once, one thread each. Works with libtorch's OpenMP backend (Debian's and PyPI's builds),
// whose thread count is per OpenMP thread; elsewhere it does nothing (active() is false).
class CallingThreadIntraOpThreads {
 public:
  explicit CallingThreadIntraOpThreads(int threads);
  ~CallingThreadIntraOpThreads();
  CallingThreadIntraOpThreads(const CallingThreadIntraOpThreads&) = delete;
  CallingThreadIntraOpThreads& operator=(const CallingThreadIntraOpThreads&) = delete;
  bool active() const { return previous_ > 0; }
  static bool supported();  // whether this process's libtorch has the per-thread count

 private:
  int previous_ = 0;
  int mkl_previous_ = 0;  // MKL's local count before the guard, where the BLAS is MKL
};

}  // namespace emotune::runtime
