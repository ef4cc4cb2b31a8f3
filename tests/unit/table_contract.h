/* The photo table contract: one suite that every implementation runs (SQLite now,
 * DynamoDB later). A test supplies a factory; the suite does the rest. */
#ifndef ENLARGER_TEST_TABLE_CONTRACT_H
#define ENLARGER_TEST_TABLE_CONTRACT_H

#include "enlarger/table.h"

struct table_contract {
	/* Opens the table under test (NULL fails the suite). Called more than once:
	 * a reopened table must see earlier writes. The suite destroys what it opens. */
	struct enl_table *(*open)(void *ud);
	void *ud;
	/* The key attribute the table was opened with ("photoId"). */
	const char *key_attr;
};

/* Runs every contract check and prints a summary. Returns the number of failed
 * checks. Photo ids carry a per-run prefix, so a shared table works. */
int table_contract_run(const struct table_contract *c);

#endif
