// SPDX-License-Identifier: MIT
/**
 * DOC: replay fuzz inputs without libFuzzer
 *
 * A main() for fuzz_input.c in builds without libFuzzer (gcc, ASan, and the
 * clang fuzz build alike): every file named on the command line, and every
 * regular file in a directory named there (in name order, README files
 * skipped), goes once through LLVMFuzzerTestOneInput(). ctest runs it on
 * fuzz/findings/ and fuzz/corpus/, so every past finding stays a regression
 * input in the plain and sanitizer builds.
 *
 * Each input gets a fresh engine (fuzz_input.c), so whatever it leaked is
 * unreachable once it returns: in sanitizer builds LeakSanitizer checks
 * after every input, and the replay stops at the first file that leaked,
 * naming it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_LSAN	1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_LSAN	1
#endif
#ifdef REPLAY_LSAN
#include <sanitizer/lsan_interface.h>
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Largest input replayed; libFuzzer's inputs here are far smaller. */
#define REPLAY_MAX	(1 << 20)

/**
 * replay_file() - feed one file to the target
 * @path:	file
 *
 * Exits with status 1 when LeakSanitizer finds a leak after it.
 *
 * Return: 0, or -1 if it could not be read
 */
static int replay_file(const char *path)
{
	static uint8_t buf[REPLAY_MAX];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	printf("replay: %s (%zu bytes)\n", path, n);
	fflush(stdout);
	LLVMFuzzerTestOneInput(buf, n);
#ifdef REPLAY_LSAN
	/* LeakSanitizer reports what leaked so far, so the first input
	 * reported is the one that leaked: stop there */
	if (__lsan_do_recoverable_leak_check()) {
		fprintf(stderr, "replay: %s leaked\n", path);
		exit(1);
	}
#endif
	return 0;
}

/**
 * name_cmp() - scandir() order: by name
 * @a:		entry
 * @b:		entry
 *
 * Return: strcmp() of the names
 */
static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/**
 * replay_path() - replay a file, or the regular files of a directory
 * @path:	file or directory
 * @count:	incremented per input replayed
 *
 * Return: number of inputs that could not be read
 */
static int replay_path(const char *path, int *count)
{
	struct dirent **ents;
	struct stat st;
	int i, n, bad = 0;

	if (stat(path, &st)) {
		perror(path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path) ? 1 : 0;
	}
	n = scandir(path, &ents, NULL, name_cmp);
	if (n < 0) {
		perror(path);
		return 1;
	}
	for (i = 0; i < n; i++) {
		char file[4096];

		snprintf(file, sizeof(file), "%s/%s", path, ents[i]->d_name);
		if (!strncmp(ents[i]->d_name, "README", 6) || stat(file, &st) ||
		    !S_ISREG(st.st_mode)) {
			free(ents[i]);
			continue;
		}
		(*count)++;
		bad += replay_file(file) ? 1 : 0;
		free(ents[i]);
	}
	free(ents);
	return bad;
}

/**
 * main() - replay every FILE and every file in every DIR given
 * @argc:	argument count
 * @argv:	FILE|DIR...
 *
 * Return: 0, 1 if an input could not be read (or leaked), 2 on usage;
 *	   77 (from fuzz_input.c) without a private network namespace
 */
int main(int argc, char **argv)
{
	int i, count = 0, bad = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++)
		bad += replay_path(argv[i], &count);
	printf("replay: %d inputs, %d failed\n", count, bad);
	return bad ? 1 : 0;
}
