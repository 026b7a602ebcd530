// html_name: allocates from functions whose symbols are pieces of HTML, so
// the view's tests can check that trace strings are shown as text and never
// parsed as markup. Built without debug info, so the names come from the
// symbol table. Leaks 64 B from "<img src=x onerror=alert(1)>" and 32 B from
// "</script><b>bold</b>" called by it, which also releases a block from
// new[] with free (a mismatched release). Run it with an argument that is
// HTML too.
#include <cstdlib>
#include <cstring>

// The quotes make the assembler take the names as they are.
void* html_named(size_t size) __asm__("\"<img src=x onerror=alert(1)>\"");
void* script_named(size_t size) __asm__("\"</script><b>bold</b>\"");

void* g_keep[3];

__attribute__((noinline)) void* script_named(size_t size) {
  int* numbers = new int[4];
  g_keep[2] = numbers;
  std::free(g_keep[2]);  // new[] released by free
  void* p = std::malloc(size);
  std::memset(p, 1, size);
  return p;
}

__attribute__((noinline)) void* html_named(size_t size) {
  g_keep[1] = script_named(size / 2);
  void* p = std::malloc(size);
  std::memset(p, 2, size);
  return p;
}

int main() {
  g_keep[0] = html_named(64);
  return 0;
}
