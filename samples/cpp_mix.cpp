// cpp_mix: the C++ allocation paths, from three threads at once.
//
// Leaks, by construction (requested sizes):
//   leak_int_array   new int[25]      100 B, 1 block
//   leak_foo         new Foo           48 B, 1 block
// Everything else the program allocates it also frees: new/delete,
// new[]/delete[], aligned new/delete, nothrow new, std::vector, std::string,
// std::map, thrown exceptions, and three std::threads that allocate and free.
// libstdc++ makes allocations of its own (for example its emergency exception
// pool at start-up), which a tracer sees too; none of them comes from a
// function of this file.
#include <cstdint>
#include <cstdio>
#include <map>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sample_support.h"

struct Foo {
  int id;
  double values[5];
};
static_assert(sizeof(Foo) == 48, "the expected figures assume a 48-byte Foo");

struct alignas(64) Aligned {
  char bytes[192];
};

__attribute__((noinline)) void leak_int_array() {
  int* p = new int[25];
  for (int i = 0; i < 25; i++) p[i] = i;
  escape(p);
}

__attribute__((noinline)) void leak_foo() {
  Foo* f = new Foo{7, {1, 2, 3, 4, 5}};
  escape(f);
}

__attribute__((noinline)) long plain_new_delete() {
  Foo* f = new Foo{1, {0.5}};
  escape(f);
  long id = f->id;
  delete f;
  return id;
}

__attribute__((noinline)) long array_new_delete() {
  Foo* foos = new Foo[4];
  for (int i = 0; i < 4; i++) foos[i].id = i;
  escape(foos);
  long sum = foos[0].id + foos[1].id + foos[2].id + foos[3].id;
  delete[] foos;
  return sum;
}

__attribute__((noinline)) bool aligned_new_delete() {
  Aligned* a = new Aligned;
  escape(a);
  bool aligned = reinterpret_cast<uintptr_t>(a) % alignof(Aligned) == 0;
  delete a;
  Aligned* many = new Aligned[3];
  escape(many);
  aligned = aligned && reinterpret_cast<uintptr_t>(many) % alignof(Aligned) == 0;
  delete[] many;
  return aligned;
}

__attribute__((noinline)) bool nothrow_new() {
  int* p = new (std::nothrow) int[10];
  escape(p);
  bool ok = p != nullptr;
  delete[] p;
  Foo* f = new (std::nothrow) Foo;
  escape(f);
  ok = ok && f != nullptr;
  delete f;
  return ok;
}

__attribute__((noinline)) long containers() {
  std::vector<int> numbers;
  for (int i = 0; i < 1000; i++) numbers.push_back(i);
  std::string text(100, 'x');
  text += " and a tail long enough to leave the small-string buffer";
  std::map<int, std::string> names;
  for (int i = 0; i < 50; i++) names[i] = "name number " + std::to_string(i) + " padded out";
  long sum = 0;
  for (int n : numbers) sum += n;
  return sum + static_cast<long>(text.size()) + static_cast<long>(names.size());
}

__attribute__((noinline)) int exceptions() {
  int caught = 0;
  for (int i = 0; i < 10; i++) {
    try {
      throw std::runtime_error("a message long enough to need its own heap block: " + std::to_string(i));
    } catch (const std::runtime_error& e) {
      caught += e.what()[0] == 'a';
    }
  }
  return caught;
}

__attribute__((noinline)) void thread_work(int index, long* result) {
  long sum = 0;
  for (int round = 0; round < 200; round++) {
    std::vector<std::string> words;
    for (int i = 0; i < 20; i++) words.push_back(std::string(40 + i, static_cast<char>('a' + index)));
    int* scratch = new int[64];
    escape(scratch);
    scratch[0] = round;
    sum += static_cast<long>(words.size()) + scratch[0];
    delete[] scratch;
  }
  *result = sum;
}

int main() {
  use_static_stdout();
  leak_int_array();
  leak_foo();
  long results[3] = {0, 0, 0};
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; t++) threads.emplace_back(thread_work, t, &results[t]);
    for (std::thread& t : threads) t.join();
  }
  std::printf("cpp_mix: new/delete %ld, new[]/delete[] %ld\n", plain_new_delete(), array_new_delete());
  std::printf("cpp_mix: aligned new %s, nothrow new %s\n", aligned_new_delete() ? "aligned" : "MISALIGNED",
              nothrow_new() ? "ok" : "FAILED");
  std::printf("cpp_mix: containers %ld, exceptions caught %d\n", containers(), exceptions());
  std::printf("cpp_mix: threads %ld %ld %ld\n", results[0], results[1], results[2]);
  std::printf("cpp_mix: expected leaks: leak_int_array 100 B in 1 block, leak_foo 48 B in 1 block\n");
  return 0;
}
