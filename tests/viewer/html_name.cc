// html_name: allocates from a function whose symbol is a piece of HTML, so
// the view's tests can check that trace strings are shown as text and never
// parsed as markup. Built without debug info, so the name comes from the
// symbol table. Leaks 64 B from "<img src=x onerror=alert(1)>", and 32 B
// from "</script><b>bold</b>" called by it; run it with an argument that is
// HTML too.
#include <stdlib.h>
#include <string.h>

// The quotes make the assembler take the name as it is.
void* html_named(size_t size) __asm__("\"<img src=x onerror=alert(1)>\"");
void* script_named(size_t size) __asm__("\"</script><b>bold</b>\"");

void* g_keep[2];

__attribute__((noinline)) void* script_named(size_t size) {
  void* p = malloc(size);
  memset(p, 1, size);
  return p;
}

__attribute__((noinline)) void* html_named(size_t size) {
  g_keep[1] = script_named(size / 2);
  void* p = malloc(size);
  memset(p, 2, size);
  return p;
}

int main(void) {
  g_keep[0] = html_named(64);
  return 0;
}
