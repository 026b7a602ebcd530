// A module that stress's dlopen mode loads and unloads in a loop: it
// allocates when loaded, when called, and frees its own block when unloaded.
#include <stdlib.h>
#include <string.h>

static char* g_loaded_block;

__attribute__((constructor)) static void plugin_load(void) {
  g_loaded_block = malloc(123);
  memset(g_loaded_block, 1, 123);
}

__attribute__((destructor)) static void plugin_unload(void) { free(g_loaded_block); }

// A block for the caller, who frees it after this module is gone.
__attribute__((noinline)) void* plugin_make(int index) {
  char* block = malloc(64 + index % 32);
  memset(block, 2, 64 + index % 32);
  return block;
}

int plugin_check(void) { return g_loaded_block != NULL && g_loaded_block[0] == 1; }
