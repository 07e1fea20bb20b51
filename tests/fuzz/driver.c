/*
 * A main() for a fuzz target without libFuzzer: feeds it every file named
 * on the command line (a directory: every file in it), or, with no
 * arguments, every file of tests/fuzz/corpus/<name>/. Built by the normal
 * compiler into build/tests/test-fuzz-<name>, it makes each seed and each
 * input that once crashed a regression test of `make test`. A crash names
 * the input before the process dies.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#define FUZZ_NAME "target"
#endif

static char	 driver_current[4096];
static int	 driver_failed;
static size_t	 driver_n_inputs;

static void
driver_crash(int sig)
{
	char msg[4200];
	int n;

	n = snprintf(msg, sizeof(msg), "FAIL fuzz_%s: input '%s' crashed "
	    "(signal %d)\n", FUZZ_NAME, driver_current, sig);
	if (n > 0)
		(void)write(STDOUT_FILENO, msg, (size_t)n < sizeof(msg) ?
		    (size_t)n : sizeof(msg) - 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
driver_run_file(const char *path)
{
	FILE *fp;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if ((fp = fopen(path, "rb")) == NULL) {
		printf("FAIL fuzz_%s: cannot open '%s': %s\n", FUZZ_NAME, path,
		    strerror(errno));
		driver_failed = 1;
		return;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((buf = realloc(buf, cap)) == NULL)
				abort();
		}
		if ((n = fread(buf + len, 1, cap - len, fp)) == 0)
			break;
		len += n;
	}
	fclose(fp);
	snprintf(driver_current, sizeof(driver_current), "%s", path);
	/* an exact-size copy, so that ASan sees a read past the input */
	{
		uint8_t *exact = malloc(len ? len : 1);

		if (exact == NULL)
			abort();
		memcpy(exact, buf, len);
		free(buf);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	driver_n_inputs++;
}

static int
driver_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
driver_run_path(const char *path)
{
	struct dirent *de;
	struct stat st;
	char **names = NULL, full[4096];
	size_t n = 0, i;
	DIR *d;

	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		driver_run_file(path);
		return;
	}
	if ((d = opendir(path)) == NULL) {
		printf("FAIL fuzz_%s: cannot open '%s': %s\n", FUZZ_NAME, path,
		    strerror(errno));
		driver_failed = 1;
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((names = realloc(names, (n + 1) * sizeof(*names))) == NULL ||
		    (names[n] = strdup(de->d_name)) == NULL)
			abort();
		n++;
	}
	closedir(d);
	/* the same order every run */
	qsort(names, n, sizeof(*names), driver_cmp);
	for (i = 0; i < n; i++) {
		snprintf(full, sizeof(full), "%s/%s", path, names[i]);
		driver_run_file(full);
		free(names[i]);
	}
	free(names);
}

int
main(int argc, char **argv)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	const char *dflt = "tests/fuzz/corpus/" FUZZ_NAME;
	struct stat st;
	size_t i;
	int a;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], driver_crash);
	/* the kept seeds, and those the build writes (FUZZ_SEEDS), if any */
	if (argc < 2 && stat(dflt, &st) == 0)
		driver_run_path(dflt);
#ifdef FUZZ_SEEDS
	if (argc < 2 && stat(FUZZ_SEEDS, &st) == 0)
		driver_run_path(FUZZ_SEEDS);
#endif
	for (a = 1; a < argc; a++)
		driver_run_path(argv[a]);
	if (driver_n_inputs == 0) {
		printf("FAIL fuzz_%s: no inputs in '%s'\n", FUZZ_NAME,
		    argc < 2 ? dflt : argv[1]);
		return 1;
	}
	printf("%s fuzz_%s_corpus (%zu inputs)\n", driver_failed ? "FAIL" :
	    "PASS", FUZZ_NAME, driver_n_inputs);
	return driver_failed;
}
