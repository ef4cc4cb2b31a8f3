/* The object store contract: one suite that every implementation runs (local
 * directory now, S3 later). A test supplies a factory; the suite does the rest. */
#ifndef ENLARGER_TEST_STORE_CONTRACT_H
#define ENLARGER_TEST_STORE_CONTRACT_H

#include <stddef.h>

#include "enlarger/store.h"

struct store_contract {
	/* Opens a store on the backend under test, or returns NULL (the suite then
	 * fails). Called more than once: a reopened store must see earlier writes.
	 * The suite destroys what it opens. */
	struct enl_store *(*open)(void *ud);
	void *ud;
	/* A bucket the suite may write to. Keys are put under a per-run prefix, so a
	 * shared bucket works. */
	const char *bucket;
};

/* For a stand-in whose PUT is not atomic (s3rver rewrites objects in place), before
 * store_contract_run: the concurrent-PUT check is skipped with reason printed, and the
 * backend's own test checks what the client can still promise. Real backends never
 * call this. */
void store_contract_skip_concurrent_puts(const char *reason);

/* The MD5 of p[0..n) in hex into out: what S3 gives as the ETag of a single PUT (the
 * oracle the suite and the backends' own tests compare ETags and bytes against). */
void store_contract_md5hex(const void *p, size_t n, char out[33]);

/* Runs every contract check and prints a summary. Returns the number of failed
 * checks (0 = the implementation honours the contract). */
int store_contract_run(const struct store_contract *c);

#endif
