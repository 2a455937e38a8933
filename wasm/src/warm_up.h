// Warms the module up before a file is dropped: V8 first runs new wasm code in its baseline
// compiler and moves hot functions to the optimising one while they run, so the first large
// open spent about a second more than the next (bench/README). This builds models of a small
// database made on the spot (in SQLite's memory, the Llama Stack schema, attribute text shaped
// like real spans) the ways the browser builds them: from bytes in place, and in one pass over
// slices, so their hot functions are optimised by the time a real file comes.
// No Emscripten include: it compiles and is tested natively too.
#pragma once

#include <string>

#include "tracedrop/status.h"

namespace tracedrop::wasm {

// Makes a database of `spans` spans and builds its models `rounds` times each way (what counts
// for V8 is how often the code runs, not how much data: a small database built often keeps
// the memory it takes small). Answers {"spans", "events", "bad_attributes", "error_attributes",
// "one_pass"} of the last build.
Result<std::string> warm_up(int spans, int rounds);

}  // namespace tracedrop::wasm
