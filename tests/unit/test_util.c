// SPDX-License-Identifier: MIT
/* util: size and integer parsing, whole-file reads, checksums. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmkit/util.h"

static void test_parse_size_suffixes(void **state)
{
	uint64_t v;

	assert_int_equal(parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("512K", &v), 0);
	assert_int_equal(v, 512 * KiB);
	assert_int_equal(parse_size("128M", &v), 0);
	assert_int_equal(v, 128 * MiB);
	assert_int_equal(parse_size("2g", &v), 0);
	assert_int_equal(v, 2 * GiB);
	assert_int_equal(parse_size("3GiB", &v), 0);
	assert_int_equal(v, 3 * GiB);
	assert_int_equal(parse_size("1T", &v), 0);
	assert_int_equal(v, 1024 * GiB);
	assert_int_equal(parse_size("64MB", &v), 0);
	assert_int_equal(v, 64 * MiB);
}

static void test_parse_size_rejects(void **state)
{
	uint64_t v = 77;

	assert_int_equal(parse_size("", &v), -EINVAL);
	assert_int_equal(parse_size("M", &v), -EINVAL);
	assert_int_equal(parse_size("-1M", &v), -EINVAL);
	assert_int_equal(parse_size("12Q", &v), -EINVAL);
	assert_int_equal(parse_size("12MM", &v), -EINVAL);
	assert_int_equal(parse_size(" 12M", &v), -EINVAL);
	assert_int_equal(parse_size("99999999999999999999", &v), -ERANGE);
	assert_int_equal(parse_size("99999999999T", &v), -ERANGE);
	assert_int_equal(v, 77);
}

static void test_parse_uint(void **state)
{
	uint64_t v;

	assert_int_equal(parse_uint("4", 1, 255, &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(parse_uint("0", 1, 255, &v), -ERANGE);
	assert_int_equal(parse_uint("256", 1, 255, &v), -ERANGE);
	assert_int_equal(parse_uint("2x", 1, 255, &v), -EINVAL);
	assert_int_equal(parse_uint("-2", 1, 255, &v), -EINVAL);
	assert_int_equal(parse_uint("", 1, 255, &v), -EINVAL);
}

static void test_read_file_all(void **state)
{
	char path[] = "/tmp/vmkit-test-XXXXXX";
	int fd = mkstemp(path);
	uint8_t *buf;
	size_t len;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);
	assert_int_equal(read_file_all(path, 100, &buf, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "hello", 5);
	free(buf);
	assert_int_equal(read_file_all(path, 4, &buf, &len), -EFBIG);
	unlink(path);
	assert_int_equal(read_file_all(path, 100, &buf, &len), -ENOENT);
	assert_int_equal(read_file_all("/tmp", 100, &buf, &len), -EISDIR);
}

static void test_byte_sum_and_le(void **state)
{
	uint8_t b[8] = { 1, 2, 3, 250 };

	assert_int_equal(byte_sum(b, 4), (uint8_t)(1 + 2 + 3 + 250));
	put_le64(b, 0x1122334455667788ULL);
	assert_int_equal(b[0], 0x88);
	assert_int_equal(get_le64(b), 0x1122334455667788ULL);
	assert_int_equal(get_le16(b + 6), 0x1122);
}

/* unix_listen: stale sockets are replaced, user files and live sockets never. */
static void test_unix_listen(void **state)
{
	char dir[] = "/tmp/vmkit-unix-XXXXXX", path[128], file[128], longp[200], err[256];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, fd2, c;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	snprintf(file, sizeof(file), "%s/data", dir);

	fd = unix_listen(path, 4, "--test", err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	/* a live listener is not taken over */
	assert_int_equal(unix_listen(path, 4, "--test", err, sizeof(err)), -EADDRINUSE);
	assert_non_null(strstr(err, "--test"));
	assert_non_null(strstr(err, "in use"));
	/* it still answers */
	strcpy(sa.sun_path, path);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(c);
	/* once closed, the file left behind is stale and replaced */
	close(fd);
	fd2 = unix_listen(path, 4, "--test", err, sizeof(err));
	assert_true(fd2 >= 0);
	close(fd2);

	/* a regular file at the path is refused and left intact */
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("precious\n", f);
	fclose(f);
	assert_int_equal(unix_listen(file, 4, "--test", err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(stat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 9);

	/* too long for sun_path, empty, missing directory */
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(unix_listen(longp, 4, "--test", err, sizeof(err)), -ENAMETOOLONG);
	assert_int_equal(unix_listen("", 4, "--test", err, sizeof(err)), -ENAMETOOLONG);
	assert_int_equal(unix_listen("/nonexistent-dir/x.sock", 4, "--test", err, sizeof(err)), -ENOENT);

	unlink(path);
	unlink(file);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size_suffixes), cmocka_unit_test(test_parse_size_rejects),
		cmocka_unit_test(test_parse_uint),          cmocka_unit_test(test_read_file_all),
		cmocka_unit_test(test_byte_sum_and_le),
		cmocka_unit_test(test_unix_listen),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
