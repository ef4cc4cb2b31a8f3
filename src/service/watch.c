/* The local trigger: inotify on the local store's originals folder and every folder
 * below it. A file closed after writing (IN_CLOSE_WRITE) or moved in (IN_MOVED_TO, which is
 * how atomic writers and the local store finish a file) goes through the same process
 * use case as POST /process, the way an S3 upload triggers EventBridge. At start, files
 * that arrived while the server was down (no finished item in the table) are processed
 * once. */
#include "enlarger/service.h"

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enlarger/fs.h"
#include "enlarger/keys.h"
#include "enlarger/log.h"
#include "enlarger/table.h"

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR)
#define BUSY_RETRIES 20

struct wdir {
	int wd;
	char *rel; /* folder relative to the bucket folder, "" for the bucket itself */
};

struct enl_watch {
	struct enl_app *app;
	int ifd;
	int stop_pipe[2];
	pthread_t thread;
	int started;
	char root[PATH_MAX];
	struct wdir *dirs;
	size_t n_dirs, cap_dirs;
};

static int skip_name(const char *name)
{
	static const char *temp_suffixes[] = {"~",    ".tmp",        ".part",
	                                      ".swp", ".crdownload", ".partial"};
	size_t n = strlen(name);
	if (name[0] == '.' || n == 0)
		return 1;
	for (size_t i = 0; i < sizeof(temp_suffixes) / sizeof(temp_suffixes[0]); i++) {
		size_t sl = strlen(temp_suffixes[i]);
		if (n >= sl && strcmp(name + n - sl, temp_suffixes[i]) == 0)
			return 1;
	}
	return 0;
}

static const char *dir_rel(struct enl_watch *w, int wd)
{
	for (size_t i = 0; i < w->n_dirs; i++)
		if (w->dirs[i].wd == wd)
			return w->dirs[i].rel;
	return NULL;
}

static int join_rel(char *out, size_t outsz, const char *rel, const char *name)
{
	int n = snprintf(out, outsz, "%s%s%s", rel, *rel ? "/" : "", name);
	return n < 0 || (size_t)n >= outsz ? ENL_ETOOBIG : 0;
}

static void process_file(struct enl_watch *w, const char *rel_key)
{
	struct enl_event ev;
	struct enl_process_result res;
	struct enl_errmsg e = {{0}};
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.kind = ENL_EVENT_SIMPLE;
	snprintf(ev.bucket, sizeof(ev.bucket), "%s", w->app->cfg->originals_bucket);
	snprintf(ev.key, sizeof(ev.key), "%s", rel_key);
	for (int tries = 0;; tries++) {
		rc = enl_service_process(w->app, &ev, &res, &e);
		enl_process_result_free(&res);
		if (rc != ENL_EBUSY && rc != ENL_EIO && rc != ENL_ETIMEOUT)
			break;
		if (tries >= BUSY_RETRIES)
			break;
		/* Busy or a passing failure: back off like EventBridge would. */
		usleep((useconds_t)(100000 * (tries + 1)));
	}
	json_t *f = json_object();
	json_object_set_new(f, "door", json_string("watch"));
	json_object_set_new(f, "key", json_string(rel_key));
	json_object_set_new(f, "result", json_string(enl_err_name(rc)));
	if (rc)
		json_object_set_new(f, "error", json_string(e.text));
	enl_log_json(rc ? ENL_LOG_WARN : ENL_LOG_DEBUG, "watch", f);
}

static int add_dir(struct enl_watch *w, const char *rel);

/* What scan_dir does with the files it finds besides watching their folders. */
enum scan_files {
	SCAN_WATCH_ONLY, /* start-up: folders are watched before anything is read */
	SCAN_ALL,        /* a folder that appeared: everything in it is new */
	SCAN_UNFINISHED, /* catch-up: only files the table has no finished item for */
};

/* Does the table lack a finished item (completed or failed) for the file at key? A
 * restart then reads the table, not the library. A photo id the rule refuses is left to
 * process_file, which reports it. */
static int unfinished(struct enl_watch *w, const char *key)
{
	char id[ENL_KEY_MAX + 1];
	struct enl_errmsg e = {{0}};
	json_t *item = NULL;
	const char *st;
	int finished;

	if (enl_photo_id(w->app->cfg->photo_id_rule, key, NULL, id, sizeof(id), &e))
		return 1;
	if (enl_table_get(w->app->table, id, &item, &e))
		return 1;
	st = json_string_value(json_object_get(item, "processingStatus"));
	finished = st && (strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0);
	json_decref(item);
	return !finished;
}

/* Watches folder rel and every folder below it; files in them as `files` says (files
 * can land in a new folder before its watch is in place). */
static void scan_dir(struct enl_watch *w, const char *rel, enum scan_files files)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;

	if (add_dir(w, rel))
		return;
	if (snprintf(path, sizeof(path), "%s%s%s", w->root, *rel ? "/" : "", rel) >=
	    (int)sizeof(path))
		return;
	if (!(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		char child[PATH_MAX];
		struct stat st;
		char full[PATH_MAX * 2];
		if (skip_name(de->d_name) || join_rel(child, sizeof(child), rel, de->d_name))
			continue;
		snprintf(full, sizeof(full), "%s/%s", w->root, child);
		if (lstat(full, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			scan_dir(w, child, files);
		else if (S_ISREG(st.st_mode) &&
		         (files == SCAN_ALL || (files == SCAN_UNFINISHED && unfinished(w, child))))
			process_file(w, child);
	}
	closedir(d);
}

static int add_dir(struct enl_watch *w, const char *rel)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s%s%s", w->root, *rel ? "/" : "", rel) >=
	    (int)sizeof(path))
		return ENL_ETOOBIG;
	int wd = inotify_add_watch(w->ifd, path, WATCH_MASK);
	if (wd < 0) {
		enl_logf(ENL_LOG_WARN, "watch: cannot watch a folder: %s", strerror(errno));
		return ENL_EIO;
	}
	for (size_t i = 0; i < w->n_dirs; i++) {
		if (w->dirs[i].wd == wd) {
			/* Same inode again (re-added): keep the newest name. */
			char *r = strdup(rel);
			if (!r)
				return ENL_ENOMEM;
			free(w->dirs[i].rel);
			w->dirs[i].rel = r;
			return 0;
		}
	}
	if (w->n_dirs == w->cap_dirs) {
		size_t cap = w->cap_dirs ? w->cap_dirs * 2 : 16;
		struct wdir *nd = realloc(w->dirs, cap * sizeof(*nd));
		if (!nd)
			return ENL_ENOMEM;
		w->dirs = nd;
		w->cap_dirs = cap;
	}
	if (!(w->dirs[w->n_dirs].rel = strdup(rel)))
		return ENL_ENOMEM;
	w->dirs[w->n_dirs++].wd = wd;
	return 0;
}

static void forget_wd(struct enl_watch *w, int wd)
{
	for (size_t i = 0; i < w->n_dirs; i++) {
		if (w->dirs[i].wd == wd) {
			free(w->dirs[i].rel);
			w->dirs[i] = w->dirs[--w->n_dirs];
			return;
		}
	}
}

static void handle(struct enl_watch *w, const struct inotify_event *ev)
{
	char rel[PATH_MAX];
	const char *dir;

	if (ev->mask & IN_IGNORED) {
		forget_wd(w, ev->wd);
		return;
	}
	if (!ev->len || skip_name(ev->name) || !(dir = dir_rel(w, ev->wd)))
		return;
	if (join_rel(rel, sizeof(rel), dir, ev->name))
		return;
	if (ev->mask & IN_ISDIR) {
		if (ev->mask & (IN_CREATE | IN_MOVED_TO))
			scan_dir(w, rel, SCAN_ALL);
		return;
	}
	if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
		process_file(w, rel);
}

static void *run(void *arg)
{
	struct enl_watch *w = arg;
	/* Aligned as inotify(7) asks. */
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));

	/* Files that arrived while the server was down, once; what lands meanwhile waits in
	 * the inotify queue. */
	scan_dir(w, "", SCAN_UNFINISHED);
	for (;;) {
		struct pollfd p[2] = {{w->ifd, POLLIN, 0}, {w->stop_pipe[0], POLLIN, 0}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		ssize_t n = read(w->ifd, buf, sizeof(buf));
		if (n <= 0) {
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			break;
		}
		for (char *q = buf; q < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)q;
			if (ev->mask & IN_Q_OVERFLOW)
				enl_logf(ENL_LOG_WARN,
				         "watch: inotify queue overflowed; some files "
				         "were not seen (POST /process them)");
			else
				handle(w, ev);
			q += sizeof(struct inotify_event) + ev->len;
		}
	}
	return NULL;
}

int enl_watch_start(struct enl_app *app, struct enl_watch **out, struct enl_errmsg *e)
{
	struct enl_watch *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	w->app = app;
	w->ifd = -1;
	w->stop_pipe[0] = w->stop_pipe[1] = -1;
	/* The store knows where its bucket folders are. */
	if ((rc = enl_store_local_dir(app->store, app->cfg->originals_bucket, w->root,
	                              sizeof(w->root), e)))
		goto fail;
	if (enl_mkdir_p(w->root)) {
		rc = enl_fail(e, ENL_EIO, "cannot create the originals folder");
		goto fail;
	}
	w->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->ifd < 0 || pipe2(w->stop_pipe, O_CLOEXEC)) {
		rc = enl_fail(e, ENL_EIO, "inotify is not available: %s", strerror(errno));
		goto fail;
	}
	/* Existing folders are watched first, so nothing that lands from now on is missed;
	 * the files already there are caught up on the watcher's thread (run). */
	scan_dir(w, "", SCAN_WATCH_ONLY);
	if (w->n_dirs == 0) {
		rc = enl_fail(e, ENL_EIO, "cannot watch the originals folder");
		goto fail;
	}
	if (pthread_create(&w->thread, NULL, run, w)) {
		rc = enl_fail(e, ENL_EINTERNAL, "cannot start the watcher thread");
		goto fail;
	}
	w->started = 1;
	enl_logf(ENL_LOG_INFO, "watching %zu folder(s) under the originals bucket", w->n_dirs);
	*out = w;
	return 0;
fail:
	enl_watch_stop(w);
	return rc;
}

void enl_watch_stop(struct enl_watch *w)
{
	if (!w)
		return;
	if (w->started) {
		/* The thread finishes the file in hand, then sees the pipe. */
		ssize_t n = write(w->stop_pipe[1], "x", 1);
		(void)n;
		pthread_join(w->thread, NULL);
	}
	if (w->ifd >= 0)
		close(w->ifd);
	for (int i = 0; i < 2; i++)
		if (w->stop_pipe[i] >= 0)
			close(w->stop_pipe[i]);
	for (size_t i = 0; i < w->n_dirs; i++)
		free(w->dirs[i].rel);
	free(w->dirs);
	free(w);
}
