// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
// libFuzzer's driver (in the runtime -sanitize=fuzzer links): each target's main calls it, since
// SwiftPM gives every executable a main of its own.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
