/*
 * UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF) and replacement of invalid bytes with U+FFFD.
 */
#include "utf8.h"
#include "strbuf.h"

size_t
utf8_seq_len(const unsigned char *s, size_t avail)
{
	size_t n, i;
	unsigned c = s[0];

	if (avail == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

char *
utf8_sanitize(const char *s, size_t len, size_t *outlen)
{
	struct strbuf sb = STRBUF_INIT;
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	strbuf_grow(&sb, len);
	while (i < len) {
		if ((n = utf8_seq_len(p + i, len - i)) == 0) {
			strbuf_add(&sb, "\xef\xbf\xbd", 3);
			i++;
			continue;
		}
		strbuf_add(&sb, s + i, n);
		i += n;
	}
	return strbuf_detach(&sb, outlen);
}
