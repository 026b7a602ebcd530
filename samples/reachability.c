// reachability: one leak of each kind memcheck and heapgap tell apart at exit.
//
//   lose_block      malloc(100), pointer dropped         definitely lost  100 B, 1 block
//   lose_list       a 3-node list of 32 B nodes (make_node), head pointer dropped:
//                   the head is definitely lost           32 B, 1 block
//                   the 2 nodes behind it indirectly lost 64 B, 2 blocks
//   keep_global     malloc(200) held by a global          still reachable  200 B, 1 block
//   keep_interior   malloc(300); a global holds only a pointer 16 bytes into it:
//                   possibly lost                         300 B, 1 block
// Totals: 6 allocations, 0 frees, 696 B allocated; 696 B in 6 blocks in use
// at exit. memcheck --leak-check=full reports: definitely lost 132 B in 2
// blocks, indirectly lost 64 B in 2 blocks, possibly lost 300 B in 1 block,
// still reachable 200 B in 1 block.
#include <stdlib.h>
#include <string.h>

#include "sample_support.h"

struct node {
  struct node* next;
  char payload[24];
};

void* g_kept;
char* g_interior;

__attribute__((noinline)) void lose_block(void) {
  char* p = malloc(100);
  memset(p, 1, 100);
  escape(p);
}

__attribute__((noinline)) struct node* make_node(struct node* next) {
  struct node* n = malloc(sizeof *n);
  n->next = next;
  memset(n->payload, 2, sizeof n->payload);
  return n;
}

__attribute__((noinline)) void lose_list(void) {
  struct node* head = make_node(make_node(make_node(NULL)));
  escape(head);
}

__attribute__((noinline)) void keep_global(void) {
  g_kept = malloc(200);
  memset(g_kept, 3, 200);
}

__attribute__((noinline)) void keep_interior(void) {
  char* p = malloc(300);
  memset(p, 4, 300);
  g_interior = p + 16;
}

// Overwrites the stack below main's frame, so that no stale copy of a dropped
// pointer left there by the functions above can make its block look reachable.
__attribute__((noinline)) void scrub_stack(void) {
  volatile char scratch[4096];
  memset((char*)scratch, 0, sizeof scratch);
  escape((const void*)scratch);
}

int main(void) {
  use_static_stdout();
  _Static_assert(sizeof(struct node) == 32, "the expected figures assume 32-byte nodes");
  lose_block();
  lose_list();
  keep_global();
  keep_interior();
  scrub_stack();
  printf("reachability: definitely lost 132 B in 2 blocks, indirectly lost 64 B in 2 blocks\n");
  printf("reachability: possibly lost 300 B in 1 block, still reachable 200 B in 1 block\n");
  return 0;
}
