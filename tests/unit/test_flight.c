/* Single-flight: callers that join while the leader works get its bytes, and the
 * leader's work runs once. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "../../src/service/flight.h"
#include "check.h"

static struct enl_flights *fs;
static int runs;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
	int leader = 0;
	struct enl_buf out;
	struct enl_errmsg e = {{0}};
	int *ok = arg;
	struct enl_flight *f = enl_flight_join(fs, "k", &leader);
	if (!f)
		return NULL;
	if (leader) {
		pthread_mutex_lock(&mu);
		runs++;
		pthread_mutex_unlock(&mu);
		usleep(200000); /* long enough for every other thread to join */
		enl_flight_finish(fs, f, 0, NULL, "bytes", 5);
		*ok = 1;
	} else {
		int rc = enl_flight_wait(fs, f, &out, &e);
		*ok = rc == 0 && out.len == 5 && memcmp(out.data, "bytes", 5) == 0;
		enl_buf_free(&out);
	}
	enl_flight_leave(fs, f);
	return NULL;
}

int main(void)
{
	pthread_t t[8];
	int ok[8] = {0};
	REQUIRE(enl_flights_new(&fs) == 0);
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, worker, &ok[i]);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	CHECK_INT_EQ(runs, 1);
	for (int i = 0; i < 8; i++)
		CHECK(ok[i]);
	CHECK_INT_EQ(enl_flights_count(fs), 0);

	/* An error reaches the waiters too. */
	int leader = 0, leader2 = 0;
	struct enl_errmsg err = {{0}}, got = {{0}};
	struct enl_buf out;
	struct enl_flight *a = enl_flight_join(fs, "x", &leader);
	struct enl_flight *b = enl_flight_join(fs, "x", &leader2);
	CHECK(leader && !leader2 && a == b);
	enl_fail(&err, ENL_EDECODE, "corrupt");
	enl_flight_finish(fs, a, ENL_EDECODE, &err, NULL, 0);
	CHECK_INT_EQ(enl_flight_wait(fs, b, &out, &got), ENL_EDECODE);
	CHECK_STR_EQ(got.text, "corrupt");
	enl_buf_free(&out);
	enl_flight_leave(fs, b);
	enl_flight_leave(fs, a);
	/* After finish, a new caller leads a new flight. */
	struct enl_flight *c = enl_flight_join(fs, "x", &leader);
	CHECK(leader);
	enl_flight_finish(fs, c, 0, NULL, NULL, 0);
	enl_flight_leave(fs, c);
	enl_flights_free(fs);
	return check_done();
}
