// leak_plugin: a library that leak_roots dlopen's; it keeps a block in its
// own data (still reachable through the library's writable segment).
#include <stdlib.h>
#include <string.h>

void* g_plugin_block;

__attribute__((noinline)) void lc_plugin_keep(void) {
  g_plugin_block = malloc(500);
  memset(g_plugin_block, 5, 500);
}
