// `emotune-torch`: every subcommand, libtorch loaded. Users run `emotune` (front_main.cc),
// which hands every command needing tensors to this program.

#include "cli/app.h"
#include "runtime/process.h"

int main(int argc, char** argv) {
  emotune::runtime::prepare_process(argv);
  return emotune::cli::run_app(argc, argv);
}
