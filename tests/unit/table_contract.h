/* The photo table contract: one suite that every implementation runs (SQLite now,
 * DynamoDB later). A test supplies a factory; the suite does the rest. */
#ifndef ENLARGER_TEST_TABLE_CONTRACT_H
#define ENLARGER_TEST_TABLE_CONTRACT_H

#include <stdint.h>

#include "enlarger/table.h"

struct table_contract {
	/* Opens the table under test (NULL fails the suite). Called more than once:
	 * a reopened table must see earlier writes. The suite destroys what it opens. */
	struct enl_table *(*open)(void *ud);
	void *ud;
	/* The key attribute the table was opened with ("photoId"). */
	const char *key_attr;
};

/* The claim request the suite makes: photo id, sequencer (NULL: none), ETag and attempt
 * at now, for the object originals/"photos/a b.jpg", with a 60 s lease. */
struct enl_claim_req table_contract_req(const char *id, const char *seq, const char *etag,
                                        const char *attempt, int64_t now);

/* Runs every contract check and prints a summary. Returns the number of failed
 * checks. Photo ids carry a per-run prefix, so a shared table works. */
int table_contract_run(const struct table_contract *c);

#endif
