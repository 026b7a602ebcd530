// leak_graphs: block graphs whose memcheck classes follow from the pointers
// between them. Every allocating function is named lc_*; expected classes at
// exit (requested sizes):
//   lc_tree_root      definitely lost   1 x 64 B   root of a dropped binary tree
//   lc_tree_node      indirectly lost   6 x 64 B   its children and grandchildren
//   lc_cycle_node     3 x 32 B in a dropped cycle: memcheck calls the first
//                     block it meets (the lowest address) definitely lost and
//                     the other two indirectly lost: definitely 1 x 32 B,
//                     indirectly 2 x 32 B
//   lc_kept_cycle     still reachable   3 x 48 B   a cycle a global points into
//   lc_interior       possibly lost     1 x 400 B  a global points 100 B inside
//   lc_behind_interior possibly lost    1 x 80 B   only the interior block
//                                                   points to it
//   lc_hidden         definitely lost   1 x 256 B  kept only XOR-ed in a global
//   lc_kept_tree      still reachable   3 x 24 B   a global holds the root
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sample_support.h"

struct tree {
  struct tree* left;
  struct tree* right;
  char payload[48];
};
_Static_assert(sizeof(struct tree) == 64, "64-byte tree nodes");

struct ring {
  struct ring* next;
  char payload[24];
};
_Static_assert(sizeof(struct ring) == 32, "32-byte ring nodes");

struct ring48 {
  struct ring48* next;
  char payload[40];
};

struct pair {
  struct pair* a;
  struct pair* b;
  char payload[8];
};

void* g_interior;
uintptr_t g_hidden;
struct ring48* g_kept_cycle;
struct pair* g_kept_tree;

__attribute__((noinline)) struct tree* lc_tree_node(int depth) {
  struct tree* t = malloc(sizeof *t);
  memset(t, 0, sizeof *t);
  if (depth > 0) {
    t->left = lc_tree_node(depth - 1);
    t->right = lc_tree_node(depth - 1);
  }
  return t;
}

__attribute__((noinline)) void lc_tree_root(void) {
  struct tree* volatile root = malloc(sizeof *root);
  memset(root, 0, sizeof *root);
  root->left = lc_tree_node(1);
  root->right = lc_tree_node(1);
  root = NULL;
}

__attribute__((noinline)) struct ring* lc_cycle_node(void) {
  struct ring* r = malloc(sizeof *r);
  memset(r, 0, sizeof *r);
  return r;
}

__attribute__((noinline)) void make_dropped_cycle(void) {
  struct ring* volatile a = lc_cycle_node();
  struct ring* volatile b = lc_cycle_node();
  struct ring* volatile c = lc_cycle_node();
  a->next = b;
  b->next = c;
  c->next = a;
  a = b = c = NULL;
}

__attribute__((noinline)) struct ring48* lc_kept_cycle(void) {
  struct ring48* r = malloc(sizeof *r);
  memset(r, 0, sizeof *r);
  return r;
}

__attribute__((noinline)) void make_kept_cycle(void) {
  struct ring48* a = lc_kept_cycle();
  struct ring48* b = lc_kept_cycle();
  struct ring48* c = lc_kept_cycle();
  a->next = b;
  b->next = c;
  c->next = a;
  g_kept_cycle = b;
}

__attribute__((noinline)) void* lc_behind_interior(void) {
  void* p = malloc(80);
  memset(p, 8, 80);
  return p;
}

__attribute__((noinline)) void lc_interior(void) {
  char* block = malloc(400);
  memset(block, 0, 400);
  void* behind = lc_behind_interior();
  memcpy(block + 200, &behind, sizeof behind);
  g_interior = block + 100;
}

__attribute__((noinline)) void lc_hidden(void) {
  void* p = malloc(256);
  memset(p, 9, 256);
  g_hidden = (uintptr_t)p ^ (uintptr_t)0xa5a5a5a5a5a5a5a5ull;
}

__attribute__((noinline)) struct pair* lc_kept_tree(void) {
  struct pair* p = malloc(sizeof *p);
  memset(p, 0, sizeof *p);
  return p;
}

__attribute__((noinline)) void make_kept_tree(void) {
  g_kept_tree = lc_kept_tree();
  g_kept_tree->a = lc_kept_tree();
  g_kept_tree->b = lc_kept_tree();
}

// Overwrites the dead part of the stack, so no stale copy of a dropped
// pointer survives below the stack pointer of main.
__attribute__((noinline)) void scrub_stack(void) {
  volatile char area[16384];
  memset((char*)area, 0, sizeof area);
  escape((const void*)area);
}

int main(void) {
  use_static_stdout();
  lc_tree_root();
  make_dropped_cycle();
  make_kept_cycle();
  lc_interior();
  lc_hidden();
  make_kept_tree();
  scrub_stack();
  return 0;
}
