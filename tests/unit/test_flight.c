/* Single-flight and kept answers: callers that join while the leader works get its very
 * bytes (one buffer, never a copy), the leader's work runs once, kept bytes are found by
 * key while an answer holds them and counted against the cap until the last goes. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/service/flight.h"
#include "check.h"

static struct enl_flights *fs;
static int runs;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static const unsigned char *leader_bytes;

static void bytes_of(struct enl_buf *b, const char *text)
{
	enl_buf_init(b, 0);
	REQUIRE(enl_buf_append(b, text, strlen(text)) == 0);
}

struct result {
	int ok;
	struct enl_shared *bytes; /* held until every worker has its answer */
};

static void *worker(void *arg)
{
	int leader = 0, hit = -1;
	struct enl_errmsg e = {{0}};
	struct result *res = arg;
	struct enl_flight *f = enl_flight_join(fs, "k", &leader);
	if (!f)
		return NULL;
	if (leader) {
		pthread_mutex_lock(&mu);
		runs++;
		pthread_mutex_unlock(&mu);
		usleep(200000); /* long enough for every other thread to join */
		struct enl_buf b;
		bytes_of(&b, "bytes");
		res->ok = enl_flights_keep(fs, "k", &b, 1, &res->bytes) == 0;
		leader_bytes = enl_shared_data(res->bytes);
		enl_flight_finish(fs, f, 0, NULL, res->bytes, 0);
	} else {
		int rc = enl_flight_wait(fs, f, &res->bytes, &hit, &e);
		res->ok = rc == 0 && hit == 0 && enl_shared_len(res->bytes) == 5 &&
		          memcmp(enl_shared_data(res->bytes), "bytes", 5) == 0;
	}
	enl_flight_leave(fs, f);
	return NULL;
}

int main(void)
{
	pthread_t t[8];
	struct result res[8];
	memset(res, 0, sizeof(res));
	REQUIRE(enl_flights_new(100, &fs) == 0);
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, worker, &res[i]);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	CHECK_INT_EQ(runs, 1);
	for (int i = 0; i < 8; i++) {
		CHECK(res[i].ok);
		CHECK(res[i].bytes && enl_shared_data(res[i].bytes) == leader_bytes); /* no copy */
	}
	CHECK_INT_EQ(enl_flights_count(fs), 0);
	CHECK_INT_EQ(enl_flights_memory(fs), 5); /* once, not once per waiter */

	/* While any answer holds them, the bytes are found by key; then they are gone. */
	struct enl_shared *found = enl_flights_find(fs, "k");
	CHECK(found == res[0].bytes);
	CHECK(enl_flights_find(fs, "other") == NULL);
	enl_shared_unref(found);
	for (int i = 0; i < 8; i++)
		enl_shared_unref(res[i].bytes);
	CHECK_INT_EQ(enl_flights_memory(fs), 0);
	CHECK(enl_flights_find(fs, "k") == NULL);

	/* The cap: past it a kept answer is refused (its bytes freed) unless forced; kept
	 * without a key, bytes are counted but never found. */
	struct enl_buf b;
	struct enl_shared *a = NULL, *big = NULL, *forced = NULL, *anon = NULL;
	bytes_of(&b, "sixty bytes of a variant...................................!");
	CHECK_INT_EQ(b.len, 60);
	CHECK_INT_EQ(enl_flights_keep(fs, "a", &b, 0, &a), 0);
	CHECK(!enl_flights_full(fs));
	bytes_of(&b, "forty-one bytes, one past the cap of 100!");
	CHECK_INT_EQ(b.len, 41);
	CHECK_INT_EQ(enl_flights_keep(fs, "b", &b, 0, &big), ENL_EBUSY);
	CHECK(big == NULL && b.data == NULL);
	CHECK_INT_EQ(enl_flights_memory(fs), 60);
	bytes_of(&b, "forty bytes: exactly up to the cap, fits");
	CHECK_INT_EQ(b.len, 40);
	CHECK_INT_EQ(enl_flights_keep(fs, NULL, &b, 0, &anon), 0);
	CHECK(enl_flights_full(fs));
	bytes_of(&b, "rendered already");
	CHECK_INT_EQ(enl_flights_keep(fs, "c", &b, 1, &forced), 0);
	CHECK_INT_EQ(enl_flights_memory(fs), 116);
	CHECK(enl_flights_find(fs, "") == NULL);
	enl_shared_unref(a);
	enl_shared_unref(anon);
	CHECK_INT_EQ(enl_flights_memory(fs), 16);
	CHECK(!enl_flights_full(fs));
	enl_shared_unref(forced);
	CHECK_INT_EQ(enl_flights_memory(fs), 0);

	/* An error reaches the waiters too. */
	int leader = 0, leader2 = 0, hit = 0;
	struct enl_errmsg err = {{0}}, got = {{0}};
	struct enl_shared *out = NULL;
	struct enl_flight *fa = enl_flight_join(fs, "x", &leader);
	struct enl_flight *fb = enl_flight_join(fs, "x", &leader2);
	CHECK(leader && !leader2 && fa == fb);
	enl_fail(&err, ENL_EDECODE, "corrupt");
	enl_flight_finish(fs, fa, ENL_EDECODE, &err, NULL, 0);
	CHECK_INT_EQ(enl_flight_wait(fs, fb, &out, &hit, &got), ENL_EDECODE);
	CHECK_STR_EQ(got.text, "corrupt");
	CHECK(out == NULL);
	enl_flight_leave(fs, fb);
	enl_flight_leave(fs, fa);
	/* After finish, a new caller leads a new flight; a hit reaches its waiters as one. */
	struct enl_flight *fc = enl_flight_join(fs, "x", &leader);
	struct enl_flight *fd = enl_flight_join(fs, "x", &leader2);
	CHECK(leader && !leader2);
	bytes_of(&b, "hit");
	CHECK_INT_EQ(enl_flights_keep(fs, "x", &b, 0, &a), 0);
	enl_flight_finish(fs, fc, 0, NULL, a, 1);
	enl_flight_leave(fs, fc);
	CHECK_INT_EQ(enl_flight_wait(fs, fd, &out, &hit, &got), 0);
	CHECK(out == a && hit == 1);
	enl_flight_leave(fs, fd);
	enl_shared_unref(out);
	enl_shared_unref(a);
	CHECK_INT_EQ(enl_flights_memory(fs), 0);
	enl_flights_free(fs);
	return check_done();
}
