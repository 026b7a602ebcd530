// Loaded and unloaded by preload_probe's "dlopen" scenario.
#include <stdlib.h>

void* volatile plugin_block;

__attribute__((noinline)) void plugin_alloc(void) { plugin_block = malloc(4242); }
