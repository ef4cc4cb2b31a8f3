/* The job gate: the concurrency limit, the bounded queue, FIFO hand-off, timeouts, the
 * memory budget, and no lost wakeups under load. */
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "enlarger/err.h"
#include "enlarger/jobgate.h"
#include "enlarger/metrics.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct enl_jobgate *gate(unsigned jobs, unsigned depth, size_t budget)
{
	struct enl_jobgate_opts o = {jobs, depth, budget};
	struct enl_jobgate *g = NULL;
	REQUIRE(enl_jobgate_new(&o, &g) == 0 && g);
	return g;
}

static unsigned queued(struct enl_jobgate *g)
{
	struct enl_jobgate_stats s;
	enl_jobgate_stats(g, &s);
	return s.queued;
}

static void wait_queued(struct enl_jobgate *g, unsigned n)
{
	double end = now_s() + 5;
	while (queued(g) != n && now_s() < end)
		usleep(1000);
	REQUIRE(queued(g) == n);
}

/* ---- at most N at once ---- */

struct worker {
	struct enl_jobgate *g;
	int iters;
	int hold_us;
	size_t cost;
	int id;
};

static atomic_int inside, max_inside;
static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t mem_inside, max_mem_inside;
static atomic_int failures;

static void *work(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->iters; i++) {
		if (enl_jobgate_enter_cost(w->g, w->cost, -1) != 0) {
			atomic_fetch_add(&failures, 1);
			continue;
		}
		int now = atomic_fetch_add(&inside, 1) + 1;
		int m = atomic_load(&max_inside);
		while (now > m && !atomic_compare_exchange_weak(&max_inside, &m, now))
			;
		pthread_mutex_lock(&mem_lock);
		mem_inside += w->cost;
		if (mem_inside > max_mem_inside)
			max_mem_inside = mem_inside;
		pthread_mutex_unlock(&mem_lock);
		if (w->hold_us)
			usleep((useconds_t)w->hold_us);
		pthread_mutex_lock(&mem_lock);
		mem_inside -= w->cost;
		pthread_mutex_unlock(&mem_lock);
		atomic_fetch_sub(&inside, 1);
		enl_jobgate_leave_cost(w->g, w->cost);
	}
	return NULL;
}

static void run_workers(struct enl_jobgate *g, int n, int iters, int hold_us, const size_t *costs)
{
	pthread_t th[8];
	struct worker w[8];
	atomic_store(&inside, 0);
	atomic_store(&max_inside, 0);
	atomic_store(&failures, 0);
	mem_inside = max_mem_inside = 0;
	for (int i = 0; i < n; i++) {
		w[i] = (struct worker){g, iters, hold_us, costs ? costs[i] : 0, i};
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

static void test_limit(void)
{
	struct enl_jobgate *g = gate(3, 8, 0);
	run_workers(g, 8, 15, 3000, NULL);
	CHECK_INT_EQ(atomic_load(&max_inside), 3);
	CHECK_INT_EQ(atomic_load(&failures), 0);
	struct enl_jobgate_stats s;
	enl_jobgate_stats(g, &s);
	CHECK_INT_EQ(s.jobs, 3);
	CHECK_INT_EQ(s.running, 0);
	CHECK_INT_EQ(s.queued, 0);
	CHECK_INT_EQ(s.admitted, 8 * 15);
	enl_jobgate_free(g);

	/* 0 jobs = one per online CPU. */
	g = gate(0, 0, 0);
	enl_jobgate_stats(g, &s);
	CHECK_INT_EQ(s.jobs, sysconf(_SC_NPROCESSORS_ONLN));
	enl_jobgate_free(g);
}

/* ---- a full queue answers at once ---- */

struct waiter_arg {
	struct enl_jobgate *g;
	int timeout_ms;
	size_t cost;
	int rc;
	double admitted_at;
	int id;
	int *order;
	atomic_int *n_order;
	int hold;
};

static void *wait_enter(void *arg)
{
	struct waiter_arg *a = arg;
	a->rc = enl_jobgate_enter_cost(a->g, a->cost, a->timeout_ms);
	a->admitted_at = now_s();
	if (a->rc == 0) {
		if (a->order)
			a->order[atomic_fetch_add(a->n_order, 1)] = a->id;
		if (!a->hold)
			enl_jobgate_leave_cost(a->g, a->cost);
	}
	return NULL;
}

static void test_queue_full(void)
{
	struct enl_jobgate *g = gate(1, 2, 0);
	REQUIRE(enl_jobgate_enter_cost(g, 0, 0) == 0);
	CHECK_INT_EQ(enl_jobgate_enter_cost(g, 0, 0), ENL_EBUSY); /* no wait allowed */
	struct waiter_arg a[2] = {{.g = g, .timeout_ms = -1}, {.g = g, .timeout_ms = -1}};
	pthread_t th[2];
	pthread_create(&th[0], NULL, wait_enter, &a[0]);
	wait_queued(g, 1);
	pthread_create(&th[1], NULL, wait_enter, &a[1]);
	wait_queued(g, 2);
	double t0 = now_s();
	CHECK_INT_EQ(enl_jobgate_enter_cost(g, 0, 5000), ENL_EBUSY);
	CHECK(now_s() - t0 < 0.5); /* at once, not after the timeout */
	struct enl_jobgate_stats s;
	enl_jobgate_stats(g, &s);
	CHECK_INT_EQ(s.rejected_full, 2);
	CHECK_INT_EQ(s.running, 1);
	enl_jobgate_leave_cost(g, 0);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	CHECK_INT_EQ(a[0].rc, 0);
	CHECK_INT_EQ(a[1].rc, 0);
	enl_jobgate_stats(g, &s);
	CHECK_INT_EQ(s.running, 0);
	CHECK_INT_EQ(s.admitted, 3);
	enl_jobgate_free(g);
}

/* The wait estimate: the running mean of job time (the first job sets it, then each
 * moves it a fifth of the way), times the jobs queued ahead and the asker, over the jobs
 * running. */
static void test_wait_estimate(void)
{
	struct enl_jobgate *g = gate(2, 4, 0);
	CHECK_INT_EQ(enl_jobgate_wait_ms(g), 0); /* no job yet: no estimate */
	enl_jobgate_job_time(g, 1000);
	enl_jobgate_job_time(g, 2000);
	struct enl_jobgate_stats s;
	enl_jobgate_stats(g, &s);
	CHECK(s.mean_job_ms > 1199.9 && s.mean_job_ms < 1200.1);
	CHECK_INT_EQ(enl_jobgate_wait_ms(g), 1200);
	REQUIRE(enl_jobgate_enter_cost(g, 0, 0) == 0);
	REQUIRE(enl_jobgate_enter_cost(g, 0, 0) == 0);
	CHECK_INT_EQ(enl_jobgate_wait_ms(g), 600); /* two serve the asker */
	struct waiter_arg a[3] = {
	    {.g = g, .timeout_ms = -1}, {.g = g, .timeout_ms = -1}, {.g = g, .timeout_ms = -1}};
	pthread_t th[3];
	for (int i = 0; i < 3; i++) {
		pthread_create(&th[i], NULL, wait_enter, &a[i]);
		wait_queued(g, (unsigned)i + 1);
	}
	CHECK_INT_EQ(enl_jobgate_wait_ms(g), 2400); /* three ahead and the asker, by two */
	enl_jobgate_leave_cost(g, 0);
	enl_jobgate_leave_cost(g, 0);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	enl_jobgate_free(g);
}

/* ---- first come, first served ---- */

static void test_fifo(void)
{
	struct enl_jobgate *g = gate(1, 10, 0);
	REQUIRE(enl_jobgate_enter_cost(g, 0, -1) == 0);
	int order[6] = {0};
	atomic_int n_order = 0;
	struct waiter_arg a[6];
	pthread_t th[6];
	for (int i = 0; i < 6; i++) {
		a[i] = (struct waiter_arg){
		    .g = g, .timeout_ms = -1, .id = i, .order = order, .n_order = &n_order};
		pthread_create(&th[i], NULL, wait_enter, &a[i]);
		wait_queued(g, (unsigned)i + 1); /* arrival order is known */
	}
	enl_jobgate_leave_cost(g, 0);
	for (int i = 0; i < 6; i++)
		pthread_join(th[i], NULL);
	CHECK_INT_EQ(atomic_load(&n_order), 6);
	for (int i = 0; i < 6; i++)
		CHECK_INT_EQ(order[i], i);
	enl_jobgate_free(g);
}

/* ---- timeouts ---- */

static void test_timeout(void)
{
	struct enl_jobgate *g = gate(1, 4, 0);
	REQUIRE(enl_jobgate_enter_cost(g, 0, -1) == 0);
	double t0 = now_s();
	CHECK_INT_EQ(enl_jobgate_enter_cost(g, 0, 150), ENL_EBUSY);
	double took = now_s() - t0;
	CHECK(took >= 0.14 && took < 1.0);
	struct enl_jobgate_stats s;
	enl_jobgate_stats(g, &s);
	CHECK_INT_EQ(s.rejected_timeout, 1);
	CHECK_INT_EQ(s.queued, 0);
	enl_jobgate_leave_cost(g, 0);
	CHECK_INT_EQ(enl_jobgate_enter_cost(g, 0, 0), 0);
	enl_jobgate_leave_cost(g, 0);
	enl_jobgate_free(g);
}

/* ---- memory budget ---- */

static void test_budget(void)
{
	/* Never more than the budget at once, though 8 jobs may run. */
	struct enl_jobgate *g = gate(8, 8, 100);
	size_t costs[8] = {10, 20, 30, 40, 50, 60, 25, 35};
	run_workers(g, 8, 20, 1000, costs);
	CHECK_INT_EQ(atomic_load(&failures), 0);
	CHECK(max_mem_inside <= 100);
	CHECK(max_mem_inside >= 60);
	CHECK(atomic_load(&max_inside) >= 2);
	struct enl_jobgate_stats s;
	enl_jobgate_stats(g, &s);
	CHECK_INT_EQ(s.memory_in_use, 0);
	enl_jobgate_free(g);

	/* A job over the whole budget runs alone. */
	g = gate(4, 4, 100);
	REQUIRE(enl_jobgate_enter_cost(g, 10, -1) == 0);
	struct waiter_arg big = {.g = g, .timeout_ms = -1, .cost = 150, .hold = 1};
	pthread_t th;
	pthread_create(&th, NULL, wait_enter, &big);
	wait_queued(g, 1);
	usleep(50 * 1000);
	CHECK_INT_EQ(queued(g), 1); /* still waiting while the small one runs */
	enl_jobgate_leave_cost(g, 10);
	pthread_join(th, NULL);
	CHECK_INT_EQ(big.rc, 0);
	CHECK_INT_EQ(enl_jobgate_enter_cost(g, 1, 0), ENL_EBUSY); /* nothing beside it */
	enl_jobgate_leave_cost(g, 150);
	enl_jobgate_free(g);

	/* The head blocks a smaller job behind it (no starving of big jobs), and when the
	 * head gives up, the one behind goes in at once. */
	g = gate(4, 4, 100);
	REQUIRE(enl_jobgate_enter_cost(g, 60, -1) == 0);
	struct waiter_arg head = {.g = g, .timeout_ms = 300, .cost = 50};
	struct waiter_arg small = {.g = g, .timeout_ms = -1, .cost = 30, .hold = 1};
	pthread_t t1, t2;
	double t0 = now_s();
	pthread_create(&t1, NULL, wait_enter, &head);
	wait_queued(g, 1);
	pthread_create(&t2, NULL, wait_enter, &small);
	wait_queued(g, 2);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK_INT_EQ(head.rc, ENL_EBUSY);
	CHECK_INT_EQ(small.rc, 0);
	CHECK(small.admitted_at - t0 >= 0.28); /* not before the head gave up */
	CHECK(small.admitted_at - head.admitted_at < 0.2);
	enl_jobgate_stats(g, &s);
	CHECK_INT_EQ(s.memory_in_use, 90);
	enl_jobgate_leave_cost(g, 30);
	enl_jobgate_leave_cost(g, 60);
	enl_jobgate_free(g);
}

/* ---- no lost wakeups ---- */

static void test_stress(void)
{
	/* 8 threads, 2 slots, room for all 6 others to wait: every enter must succeed, and a
	 * lost wakeup would hang (the alarm turns a hang into a failure). */
	alarm(60);
	struct enl_jobgate *g = gate(2, 6, 0);
	run_workers(g, 8, 3000, 0, NULL);
	alarm(0);
	CHECK_INT_EQ(atomic_load(&failures), 0);
	CHECK(atomic_load(&max_inside) <= 2);
	struct enl_jobgate_stats s;
	enl_jobgate_stats(g, &s);
	CHECK_INT_EQ(s.admitted, 8 * 3000);
	CHECK_INT_EQ(s.running, 0);
	CHECK_INT_EQ(s.queued, 0);
	enl_jobgate_free(g);
}

static void test_metrics_export(void)
{
	enl_metrics_reset();
	struct enl_jobgate *g = gate(2, 2, 1000);
	REQUIRE(enl_jobgate_export_metrics(g) == 0);
	REQUIRE(enl_jobgate_enter_cost(g, 123, 0) == 0);
	struct enl_buf b;
	enl_buf_init(&b, 1 << 20);
	REQUIRE(enl_metrics_render(&b) == 0);
	CHECK(strstr((char *)b.data, "\nenlarger_jobs_running 1\n") != NULL);
	CHECK(strstr((char *)b.data, "\nenlarger_jobs_queued 0\n") != NULL);
	CHECK(strstr((char *)b.data, "\nenlarger_jobs_memory_bytes 123\n") != NULL);
	CHECK(strstr((char *)b.data, "# TYPE enlarger_jobs_running gauge\n") != NULL);
	enl_buf_free(&b);
	enl_jobgate_leave_cost(g, 123);
	enl_jobgate_free(g);
	enl_buf_init(&b, 1 << 20);
	REQUIRE(enl_metrics_render(&b) == 0);
	CHECK(strstr((char *)b.data, "enlarger_jobs_running") == NULL); /* gone with the gate */
	enl_buf_free(&b);
}

static void test_resize(void)
{
	struct enl_jobgate *g = gate(4, 4, 100);
	struct enl_jobgate_stats s;
	/* Alone: any growth is allowed (a job over the budget runs alone). */
	REQUIRE(enl_jobgate_enter_cost(g, 30, -1) == 0);
	CHECK_INT_EQ(enl_jobgate_resize(g, 30, 150), 0);
	CHECK_INT_EQ(enl_jobgate_resize(g, 150, 40), 0);
	/* Beside another: grows only within the budget, never waits. */
	REQUIRE(enl_jobgate_enter_cost(g, 50, -1) == 0);
	CHECK_INT_EQ(enl_jobgate_resize(g, 40, 51), ENL_EBUSY);
	enl_jobgate_stats(g, &s);
	CHECK_INT_EQ(s.memory_in_use, 90); /* unchanged by the refusal */
	CHECK_INT_EQ(enl_jobgate_resize(g, 40, 50), 0);
	/* Shrinking admits a waiter that now fits. */
	struct waiter_arg w = {.g = g, .timeout_ms = 2000, .cost = 40, .hold = 1};
	pthread_t th;
	pthread_create(&th, NULL, wait_enter, &w);
	wait_queued(g, 1);
	CHECK_INT_EQ(enl_jobgate_resize(g, 50, 10), 0);
	pthread_join(th, NULL);
	CHECK_INT_EQ(w.rc, 0);
	enl_jobgate_stats(g, &s);
	CHECK_INT_EQ(s.memory_in_use, 100);
	enl_jobgate_leave_cost(g, 40);
	enl_jobgate_leave_cost(g, 10);
	enl_jobgate_leave_cost(g, 50);
	enl_jobgate_stats(g, &s);
	CHECK_INT_EQ(s.memory_in_use, 0);
	enl_jobgate_free(g);
}

int main(void)
{
	test_limit();
	test_queue_full();
	test_wait_estimate();
	test_fifo();
	test_timeout();
	test_budget();
	test_resize();
	test_stress();
	test_metrics_export();
	return check_done();
}
