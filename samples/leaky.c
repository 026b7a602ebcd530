// leaky: leaks from three distinct call sites and frees everything else.
//
// Expected figures (requested sizes; every block below comes from malloc):
//   leak_small   10 blocks x 100 B      =  1000 B leaked
//   leak_big      1 block  x 40000 B    = 40000 B leaked
//   list_push     5 blocks x 32 B       =   160 B leaked (a linked list whose
//                                                         head stays in a global)
//   churn        50 blocks x 200 B      = 10000 B allocated and freed, each
//                                         freed right after it was allocated
// Totals: 66 allocations, 50 frees, 51160 B allocated;
// leaked at exit: 41160 B in 16 blocks. The program makes no other heap
// allocation (stdout has a static buffer), so valgrind's "total heap usage"
// and "in use at exit" lines give the same numbers.
#include <stdlib.h>
#include <string.h>

#include "sample_support.h"

enum {
  kSmallCount = 10,
  kSmallSize = 100,
  kBigSize = 40000,
  kListLength = 5,
  kChurnCount = 50,
  kChurnSize = 200,
};

struct node {
  struct node* next;
  char payload[24];
};

struct node* g_list_head;  // keeps the list reachable: a leak all the same

__attribute__((noinline)) void leak_small(void) {
  for (int i = 0; i < kSmallCount; i++) {
    char* p = malloc(kSmallSize);
    memset(p, 'a', kSmallSize);
    escape(p);
  }
}

__attribute__((noinline)) void leak_big(void) {
  char* p = malloc(kBigSize);
  memset(p, 'b', kBigSize);
  escape(p);
}

__attribute__((noinline)) struct node* list_push(struct node* head, int value) {
  struct node* n = malloc(sizeof *n);
  n->next = head;
  memset(n->payload, value, sizeof n->payload);
  return n;
}

__attribute__((noinline)) void leak_list(void) {
  for (int i = 0; i < kListLength; i++) g_list_head = list_push(g_list_head, i);
}

__attribute__((noinline)) void churn(void) {
  for (int i = 0; i < kChurnCount; i++) {
    char* p = malloc(kChurnSize);
    memset(p, 'c', kChurnSize);
    escape(p);
    free(p);
  }
}

int main(void) {
  use_static_stdout();
  _Static_assert(sizeof(struct node) == 32, "the expected figures assume 32-byte nodes");
  leak_small();
  leak_big();
  leak_list();
  churn();
  printf("leaky: leak_small leaks %d blocks of %d B\n", kSmallCount, kSmallSize);
  printf("leaky: leak_big leaks 1 block of %d B\n", kBigSize);
  printf("leaky: list_push leaks %d blocks of %zu B\n", kListLength, sizeof(struct node));
  printf("leaky: churn allocates and frees %d blocks of %d B\n", kChurnCount, kChurnSize);
  printf("leaky: expected totals: 66 allocations, 50 frees, 51160 B allocated; "
         "41160 B in 16 blocks leaked\n");
  return 0;
}
