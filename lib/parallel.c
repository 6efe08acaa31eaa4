/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "parallel.h"

#include <pthread.h>

#define MAX_WORKERS 64

struct pool {
	pthread_mutex_t lock;
	size_t next, n; /* under lock */
	int error;      /* under lock: the first failure */
	int (*fn)(void *userdata, size_t i);
	void *userdata;
};

static void *worker(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		size_t i;
		int r;

		pthread_mutex_lock(&p->lock);
		i = p->error < 0 ? p->n : p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->n)
			return NULL;
		r = p->fn(p->userdata, i);
		if (r < 0) {
			pthread_mutex_lock(&p->lock);
			if (p->error == 0)
				p->error = r;
			pthread_mutex_unlock(&p->lock);
		}
	}
}

int tm_parallel_for(size_t n, unsigned workers, int (*fn)(void *userdata, size_t i), void *userdata)
{
	struct pool p = {
	    .lock = PTHREAD_MUTEX_INITIALIZER,
	    .n = n,
	    .fn = fn,
	    .userdata = userdata,
	};
	pthread_t threads[MAX_WORKERS];
	size_t want = n < workers ? n : workers, started = 0;

	if (want > MAX_WORKERS)
		want = MAX_WORKERS;
	/* The calling thread works too; a thread that cannot start just means fewer. */
	while (started + 1 < want && pthread_create(&threads[started], NULL, worker, &p) == 0)
		started++;
	worker(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_destroy(&p.lock);
	return p.error;
}
