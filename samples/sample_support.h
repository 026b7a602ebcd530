// Helpers shared by the C and C++ samples.
//
// The samples exist to have heap figures known by construction, so two things
// must not happen behind their back: the compiler must not remove or merge an
// allocation, and stdio must not allocate its own buffers (glibc would malloc
// one for stdout on the first printf, which would then show up in every count).
#ifndef HEAPGAP_SAMPLES_SAMPLE_SUPPORT_H_
#define HEAPGAP_SAMPLES_SAMPLE_SUPPORT_H_

#include <stdio.h>

// Makes `p` observable to the compiler, so that an allocation whose result is
// otherwise unused (or freed right away) is still performed.
static inline void escape(const void* p) { __asm__ volatile("" : : "g"(p) : "memory"); }

// Gives stdout a static buffer: the sample's own blocks are then the only heap
// blocks stdio contributes. Call before the first output.
static inline void use_static_stdout(void) {
  static char buffer[16384];
  setvbuf(stdout, buffer, _IOFBF, sizeof buffer);
}

#endif  // HEAPGAP_SAMPLES_SAMPLE_SUPPORT_H_
