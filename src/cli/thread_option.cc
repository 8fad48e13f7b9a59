#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "runtime/threads.h"

namespace emotune::cli {

void apply_thread_option(const GlobalOptions& globals) {
  const int used = runtime::configure_threads(globals.threads);
  spdlog::debug("using {} intra-op threads", used);
}

}  // namespace emotune::cli
