/*
 * Channel frames (net/channel.h): encoding, checking, and the blocking
 * socket reads and writes both ends use.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/channel.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define CHANNEL_READ_AHEAD	((size_t)64 << 10)

static uint32_t
channel_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static unsigned
channel_get16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static void
channel_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void
channel_put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

int
channel_head_parse(const void *buf, uint64_t max_body,
    struct channel_head *h, char **cause)
{
	const unsigned char *p = buf;
	unsigned kind;

	if (memcmp(p, CHANNEL_MAGIC, 4) != 0)
		return set_cause(cause, "not a channel frame");
	kind = channel_get16(p + 4);
	h->status = channel_get16(p + 6);
	h->head_len = channel_get32(p + 8);
	h->body_len = channel_get32(p + 12);
	if (kind != CHANNEL_REQUEST && kind != CHANNEL_ANSWER)
		return set_cause(cause, "frame kind %u", kind);
	h->kind = (enum channel_kind)kind;
	if (kind == CHANNEL_REQUEST && h->status != 0)
		return set_cause(cause, "a request with status %u", h->status);
	if (kind == CHANNEL_ANSWER && (h->status < 100 || h->status > 599))
		return set_cause(cause, "status %u", h->status);
	if (h->head_len > CHANNEL_MAX_FIELDS)
		return set_cause(cause, "fields of %u bytes, over %u",
		    h->head_len, CHANNEL_MAX_FIELDS);
	if (h->body_len > max_body)
		return set_cause(cause, "a body of %u bytes, over %llu",
		    h->body_len, (unsigned long long)max_body);
	return 0;
}

/* The next field at *off, copied; NULL at the end or when malformed. */
static char *
channel_field(const unsigned char *p, size_t len, size_t *off, char **cause)
{
	size_t n;
	char *s;

	if (len - *off < 2) {
		set_cause(cause, "a field cut short");
		return NULL;
	}
	n = channel_get16(p + *off);
	if (n > CHANNEL_MAX_FIELD || n > len - *off - 2) {
		set_cause(cause, "a field of %zu bytes past the fields' end",
		    n);
		return NULL;
	}
	if (memchr(p + *off + 2, '\0', n) != NULL || memchr(p + *off + 2,
	    '\r', n) != NULL || memchr(p + *off + 2, '\n', n) != NULL) {
		set_cause(cause, "a field with NUL, CR or LF");
		return NULL;
	}
	s = xmalloc(n + 1);
	memcpy(s, p + *off + 2, n);
	s[n] = '\0';
	*off += 2 + n;
	return s;
}

int
channel_fields_parse(const struct channel_head *h, const void *buf,
    size_t len, struct channel_msg *m, char **cause)
{
	const unsigned char *p = buf;
	size_t off = 0;
	char *a, *b;

	memset(m, 0, sizeof(*m));
	m->kind = h->kind;
	m->status = h->status;
	m->body_len = h->body_len;
	if (len != h->head_len)
		return set_cause(cause, "fields of %zu bytes, the head says "
		    "%u", len, h->head_len);
	if (h->kind == CHANNEL_REQUEST) {
		if ((m->method = channel_field(p, len, &off, cause)) == NULL ||
		    (m->path = channel_field(p, len, &off, cause)) == NULL)
			goto fail;
		if (m->method[0] == '\0' || m->path[0] != '/') {
			set_cause(cause, "a request needs a method and a path");
			goto fail;
		}
	} else if ((m->content_type = channel_field(p, len, &off,
	    cause)) == NULL)
		goto fail;
	while (off < len) {
		if (m->n_headers == CHANNEL_MAX_HEADERS) {
			set_cause(cause, "over %d headers",
			    CHANNEL_MAX_HEADERS);
			goto fail;
		}
		if ((a = channel_field(p, len, &off, cause)) == NULL)
			goto fail;
		if ((b = channel_field(p, len, &off, cause)) == NULL) {
			free(a);
			goto fail;
		}
		if (a[0] == '\0' || strchr(a, ':') != NULL) {
			set_cause(cause, "a header name empty or with ':'");
			free(a);
			free(b);
			goto fail;
		}
		m->names[m->n_headers] = a;
		m->values[m->n_headers++] = b;
	}
	return 0;
fail:
	channel_msg_release(m);
	return -1;
}

void
channel_msg_release(struct channel_msg *m)
{
	size_t i;

	free(m->method);
	free(m->path);
	free(m->content_type);
	for (i = 0; i < m->n_headers; i++) {
		free(m->names[i]);
		free(m->values[i]);
	}
	memset(m, 0, sizeof(*m));
}

static int
channel_field_ok(const char *s)
{
	size_t n = strlen(s);

	return n <= CHANNEL_MAX_FIELD && strpbrk(s, "\r\n") == NULL;
}

static int
channel_encode(struct strbuf *out, enum channel_kind kind, unsigned status,
    const char *a, const char *b, char *const *names, char *const *values,
    size_t n_headers, uint32_t body_len)
{
	const char *f[2 + 2 * CHANNEL_MAX_HEADERS];
	unsigned char head[CHANNEL_HEAD_SIZE], len2[2];
	size_t n = 0, i, total = 0;

	if (n_headers > CHANNEL_MAX_HEADERS)
		return -1;
	f[n++] = a;
	if (b != NULL)
		f[n++] = b;
	for (i = 0; i < n_headers; i++) {
		f[n++] = names[i];
		f[n++] = values[i];
	}
	for (i = 0; i < n; i++) {
		if (!channel_field_ok(f[i]))
			return -1;
		total += 2 + strlen(f[i]);
	}
	if (total > CHANNEL_MAX_FIELDS)
		return -1;
	memcpy(head, CHANNEL_MAGIC, 4);
	channel_put16(head + 4, kind);
	channel_put16(head + 6, status);
	channel_put32(head + 8, (uint32_t)total);
	channel_put32(head + 12, body_len);
	strbuf_grow(out, sizeof(head) + total);
	strbuf_add(out, head, sizeof(head));
	for (i = 0; i < n; i++) {
		channel_put16(len2, (unsigned)strlen(f[i]));
		strbuf_add(out, len2, 2);
		strbuf_adds(out, f[i]);
	}
	return 0;
}

int
channel_encode_request(struct strbuf *out, const char *method,
    const char *path, char *const *names, char *const *values,
    size_t n_headers, uint32_t body_len)
{
	if (method[0] == '\0' || path[0] != '/')
		return -1;
	return channel_encode(out, CHANNEL_REQUEST, 0, method, path, names,
	    values, n_headers, body_len);
}

int
channel_encode_answer(struct strbuf *out, unsigned status,
    const char *content_type, char *const *names, char *const *values,
    size_t n_headers, uint32_t body_len)
{
	if (status < 100 || status > 599)
		return -1;
	return channel_encode(out, CHANNEL_ANSWER, status,
	    content_type != NULL ? content_type : "", NULL, names, values,
	    n_headers, body_len);
}

/* Waits for fd to be ready for events until the deadline. */
static int
channel_wait(int fd, short events, double deadline, char **cause)
{
	struct pollfd pfd;
	double left;
	int rc;

	for (;;) {
		left = deadline - clock_now();
		if (left <= 0)
			return set_cause(cause, "timed out");
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		rc = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return set_cause(cause, "poll: %s", strerror(errno));
	}
}

int
channel_fill(int fd, struct strbuf *in, size_t want, double deadline,
    int *closed, char **cause)
{
	ssize_t n;
	size_t room;

	*closed = 0;
	while (in->len < want) {
		room = want - in->len + CHANNEL_READ_AHEAD;
		strbuf_grow(in, room);
		/* Most often the bytes are there: no poll before the read. */
		n = recv(fd, in->buf + in->len, room, MSG_DONTWAIT);
		if (n > 0) {
			in->len += (size_t)n;
			in->buf[in->len] = '\0';
			continue;
		}
		if (n == 0) {
			*closed = 1;
			return set_cause(cause, "connection closed");
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return set_cause(cause, "recv: %s", strerror(errno));
		if (channel_wait(fd, POLLIN, deadline, cause) != 0)
			return -1;
	}
	return 0;
}

int
channel_write(int fd, const void *buf, size_t len, double deadline,
    char **cause)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return set_cause(cause, "send: %s", strerror(errno));
		if (channel_wait(fd, POLLOUT, deadline, cause) != 0)
			return -1;
	}
	return 0;
}

void
channel_consume(struct strbuf *in, size_t n)
{
	if (n >= in->len) {
		strbuf_reset(in);
		return;
	}
	memmove(in->buf, in->buf + n, in->len - n);
	in->len -= n;
	in->buf[in->len] = '\0';
}
