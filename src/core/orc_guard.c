/* A lock around liborc's code memory, for libvips' calls into it.
 *
 * libvips compiles small ORC programs for its resize kernels when an operation is built
 * and frees them when it is disposed; with the operation cache off, every request does
 * both. liborc 0.4.33 (Debian 12) allocates code memory under its global mutex but frees
 * it without (orc_code_chunk_free merges neighbouring chunks of a shared list, unlocked;
 * later liborc releases take the mutex there too). A free on one thread racing a compile
 * on another corrupts that list: enlarger crashed once in liborc's
 * orc_code_allocate_codemem under `wrk -c8` (kernel log: "segfault ... in liborc").
 *
 * So enlarger defines orc_program_compile and orc_program_free itself. The executable's
 * definitions come first in symbol lookup, so libvips' calls land here; each takes one
 * mutex and calls liborc's own function (dlsym RTLD_NEXT). Compiles are rare and short
 * (a few per image), so serialising them costs nothing measurable. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>

#include "core_internal.h"

typedef struct _OrcProgram OrcProgram; /* opaque: no ORC headers needed */

/* Declared here as liborc declares them (OrcCompileResult is an enum). */
int orc_program_compile(OrcProgram *program);
void orc_program_free(OrcProgram *program);

static pthread_mutex_t guard = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int (*real_compile)(OrcProgram *);
static void (*real_free)(OrcProgram *);
static uint64_t calls;

static void resolve(void)
{
	*(void **)&real_compile = dlsym(RTLD_NEXT, "orc_program_compile");
	*(void **)&real_free = dlsym(RTLD_NEXT, "orc_program_free");
}

int orc_program_compile(OrcProgram *program)
{
	int r = 1; /* ORC_COMPILE_RESULT_UNKNOWN_COMPILE: libvips then runs its C path */
	pthread_once(&once, resolve);
	if (!real_compile)
		return r;
	pthread_mutex_lock(&guard);
	calls++;
	r = real_compile(program);
	pthread_mutex_unlock(&guard);
	return r;
}

void orc_program_free(OrcProgram *program)
{
	pthread_once(&once, resolve);
	if (!real_free)
		return; /* leaks the program rather than crash */
	pthread_mutex_lock(&guard);
	calls++;
	real_free(program);
	pthread_mutex_unlock(&guard);
}

int enl_orc_guard_active(void)
{
	void *sym = dlsym(RTLD_DEFAULT, "orc_program_free");
	pthread_once(&once, resolve);
	return sym == (void *)orc_program_free && real_free != NULL && real_compile != NULL;
}

uint64_t enl_orc_guard_calls(void)
{
	uint64_t n;
	pthread_mutex_lock(&guard);
	n = calls;
	pthread_mutex_unlock(&guard);
	return n;
}
