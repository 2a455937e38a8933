// web/worker.mjs with the test instrumentation of spy_setup.mjs installed first.
import "./spy_setup.mjs";
import "../../web/worker.mjs";
