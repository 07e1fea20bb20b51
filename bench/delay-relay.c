/*
 * delay-relay: forwards TCP connections (or UDP datagrams) from one address
 * to another and holds every byte for a fixed one-way delay, plus an
 * optional random jitter, in each direction. The kernel here has no netem
 * qdisc, so the tests and benchmarks that put the swarm on a slow network
 * (tests/cli/netlab.sh) place one of these in front of each peer: a
 * connection through it sees a round trip of twice the delay, and a link
 * limited with tbf in front of it keeps its bandwidth.
 *
 *	delay-relay --listen ADDR:PORT --to ADDR:PORT --delay-ms N
 *	    [--jitter-ms N] [--udp] [--port-file FILE]
 *
 * Bytes keep their order: with jitter, a chunk is never sent before the one
 * read before it. A direction whose queue passes RELAY_QUEUE_MAX stops
 * reading until it drains, so a slow receiver slows the sender as a real
 * link does. One thread, poll(2); runs until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/parse.h"
#include "util/xmalloc.h"

#define RELAY_CHUNK		65536
#define RELAY_QUEUE_MAX		(8u << 20)	/* bytes held per direction */
#define RELAY_MAX_CONN		256
#define RELAY_UDP_IDLE		60.0		/* seconds a UDP flow is kept */

struct relay_chunk {
	struct relay_chunk	*next;
	double			 due;
	size_t			 len;
	size_t			 off;
	unsigned char		 data[];
};

/* One direction of a connection: read from src, held, written to dst. */
struct relay_dir {
	int			 src;
	int			 dst;
	struct relay_chunk	*head;
	struct relay_chunk	*tail;
	size_t			 queued;
	double			 last_due;
	int			 eof;		/* src closed: shut dst when drained */
	int			 shut;
};

struct relay_conn {
	int			 used;
	int			 fd[2];		/* 0: the accepted side, 1: upstream */
	int			 connecting;
	struct relay_dir	 d[2];		/* 0: fd0 -> fd1, 1: fd1 -> fd0 */
	/* UDP: the peer the flow came from; fd[0] is the listening socket. */
	struct sockaddr_in	 from;
	double			 last_active;
};

static double relay_delay, relay_jitter;
static uint64_t relay_rng = 0x9e3779b97f4a7c15ULL;

/* Uniform in [0, 1) (xorshift64*). */
static double
relay_random(void)
{
	relay_rng ^= relay_rng >> 12;
	relay_rng ^= relay_rng << 25;
	relay_rng ^= relay_rng >> 27;
	return (double)((relay_rng * 0x2545f4914f6cdd1dULL) >> 11) /
	    9007199254740992.0;
}

/* When bytes read now may leave: never before those read earlier. */
static double
relay_due(struct relay_dir *d, double now)
{
	double due = now + relay_delay + relay_jitter * relay_random();

	if (due < d->last_due)
		due = d->last_due;
	d->last_due = due;
	return due;
}

static int
relay_parse_addr(const char *s, struct sockaddr_in *sa)
{
	const char *colon = strrchr(s, ':');
	char host[64];
	const char *errstr;
	unsigned long long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = parse_uint(colon + 1, 0, 65535, &errstr);
	if (errstr != NULL)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void
relay_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void
relay_enqueue(struct relay_dir *d, const void *buf, size_t len, double now)
{
	struct relay_chunk *c;

	c = xmalloc(sizeof(*c) + len);
	c->next = NULL;
	c->due = relay_due(d, now);
	c->len = len;
	c->off = 0;
	memcpy(c->data, buf, len);
	if (d->tail != NULL)
		d->tail->next = c;
	else
		d->head = c;
	d->tail = c;
	d->queued += len;
}

static void
relay_dir_clear(struct relay_dir *d)
{
	struct relay_chunk *c, *next;

	for (c = d->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	d->head = d->tail = NULL;
	d->queued = 0;
}

static void
relay_close(struct relay_conn *c, int udp)
{
	relay_dir_clear(&c->d[0]);
	relay_dir_clear(&c->d[1]);
	if (!udp && c->fd[0] >= 0)
		close(c->fd[0]);
	if (c->fd[1] >= 0)
		close(c->fd[1]);
	memset(c, 0, sizeof(*c));
}

/* Writes what is due on a TCP direction; -1 when the connection broke. */
static int
relay_flush(struct relay_dir *d, double now)
{
	struct relay_chunk *c;
	ssize_t w;

	while ((c = d->head) != NULL && c->due <= now) {
		w = send(d->dst, c->data + c->off, c->len - c->off,
		    MSG_NOSIGNAL);
		if (w < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		c->off += (size_t)w;
		d->queued -= (size_t)w;
		if (c->off < c->len)
			return 0;
		d->head = c->next;
		if (d->head == NULL)
			d->tail = NULL;
		free(c);
	}
	if (d->head == NULL && d->eof && !d->shut) {
		shutdown(d->dst, SHUT_WR);
		d->shut = 1;
	}
	return 0;
}

/* Reads what src has; -1 on an error. */
static int
relay_read(struct relay_dir *d, double now)
{
	unsigned char buf[RELAY_CHUNK];
	ssize_t r;

	r = recv(d->src, buf, sizeof(buf), 0);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	if (r == 0) {
		d->eof = 1;
		return 0;
	}
	relay_enqueue(d, buf, (size_t)r, now);
	return 0;
}

static int
relay_listen(const struct sockaddr_in *sa, int udp, const char *port_file)
{
	struct sockaddr_in got;
	socklen_t len = sizeof(got);
	int fd, one = 1;
	FILE *f;

	fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0 ||
	    (!udp && listen(fd, 64) != 0)) {
		close(fd);
		return -1;
	}
	relay_nonblock(fd);
	if (port_file != NULL && getsockname(fd, (struct sockaddr *)&got,
	    &len) == 0 && (f = fopen(port_file, "w")) != NULL) {
		fprintf(f, "%u\n", ntohs(got.sin_port));
		fclose(f);
	}
	return fd;
}

static void
usage(void)
{
	fprintf(stderr, "usage: delay-relay --listen ADDR:PORT --to ADDR:PORT "
	    "--delay-ms N [--jitter-ms N] [--udp] [--port-file FILE]\n");
	exit(2);
}

/* The next due time of a direction with bytes held, or 0. */
static double
relay_next_due(const struct relay_dir *d)
{
	return d->head != NULL ? d->head->due : 0;
}

static void
relay_tcp(int lfd, const struct sockaddr_in *to)
{
	static struct relay_conn conns[RELAY_MAX_CONN];
	struct pollfd pfd[1 + 2 * RELAY_MAX_CONN];
	int idx[1 + 2 * RELAY_MAX_CONN];
	double now, next, wait;
	int i, j, n, fd, one = 1, err;
	socklen_t elen;

	for (;;) {
		now = clock_now();
		next = 0;
		n = 0;
		pfd[n].fd = lfd;
		pfd[n].events = POLLIN;
		idx[n++] = -1;
		for (i = 0; i < RELAY_MAX_CONN; i++) {
			struct relay_conn *c = &conns[i];

			if (!c->used)
				continue;
			for (j = 0; j < 2; j++) {
				short ev = 0;
				struct relay_dir *in = &c->d[j];
				struct relay_dir *out = &c->d[1 - j];
				double due;

				/* fd[j] is the source of d[j], the
				 * destination of d[1-j] */
				if (!c->connecting && !in->eof &&
				    in->queued < RELAY_QUEUE_MAX)
					ev |= POLLIN;
				if (c->connecting && j == 1)
					ev |= POLLOUT;
				if (!c->connecting && out->head != NULL &&
				    out->head->due <= now)
					ev |= POLLOUT;
				due = relay_next_due(out);
				if (due > 0 && (next == 0 || due < next))
					next = due;
				pfd[n].fd = c->fd[j];
				pfd[n].events = ev;
				idx[n++] = i * 2 + j;
			}
		}
		wait = next > 0 ? (next - now) * 1e3 : 1000;
		if (wait < 0)
			wait = 0;
		if (poll(pfd, (nfds_t)n, (int)(wait + 0.999)) < 0 &&
		    errno != EINTR)
			return;
		now = clock_now();
		if (pfd[0].revents & POLLIN) {
			while ((fd = accept(lfd, NULL, NULL)) >= 0) {
				for (i = 0; i < RELAY_MAX_CONN &&
				    conns[i].used; i++)
					;
				if (i == RELAY_MAX_CONN) {
					close(fd);
					continue;
				}
				struct relay_conn *c = &conns[i];

				memset(c, 0, sizeof(*c));
				c->used = 1;
				c->fd[0] = fd;
				c->fd[1] = socket(AF_INET, SOCK_STREAM, 0);
				relay_nonblock(fd);
				relay_nonblock(c->fd[1]);
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				    sizeof(one));
				setsockopt(c->fd[1], IPPROTO_TCP, TCP_NODELAY,
				    &one, sizeof(one));
				c->d[0].src = c->fd[0];
				c->d[0].dst = c->fd[1];
				c->d[1].src = c->fd[1];
				c->d[1].dst = c->fd[0];
				c->connecting = 1;
				if (connect(c->fd[1], (const struct sockaddr *)to,
				    sizeof(*to)) != 0 && errno != EINPROGRESS)
					relay_close(c, 0);
			}
		}
		for (i = 1; i < n; i++) {
			struct relay_conn *c = &conns[idx[i] / 2];
			int side = idx[i] % 2;

			if (!c->used)
				continue;
			if (c->connecting && side == 1 &&
			    (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
				elen = sizeof(err);
				if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR,
				    &err, &elen) != 0 || err != 0) {
					relay_close(c, 0);
					continue;
				}
				c->connecting = 0;
				continue;
			}
			if (c->connecting)
				continue;
			if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    relay_read(&c->d[side], now) != 0) {
				relay_close(c, 0);
				continue;
			}
		}
		/* Everything due goes out, whatever poll said. */
		for (i = 0; i < RELAY_MAX_CONN; i++) {
			struct relay_conn *c = &conns[i];

			if (!c->used || c->connecting)
				continue;
			if (relay_flush(&c->d[0], now) != 0 ||
			    relay_flush(&c->d[1], now) != 0 ||
			    (c->d[0].shut && c->d[1].shut))
				relay_close(c, 0);
		}
	}
}

static void
relay_udp(int lfd, const struct sockaddr_in *to)
{
	static struct relay_conn flows[RELAY_MAX_CONN];
	struct pollfd pfd[1 + RELAY_MAX_CONN];
	int idx[1 + RELAY_MAX_CONN];
	unsigned char buf[65536];
	struct sockaddr_in from;
	socklen_t flen;
	double now, next, wait;
	ssize_t r;
	int i, n;

	for (;;) {
		now = clock_now();
		next = 0;
		n = 0;
		pfd[n].fd = lfd;
		pfd[n].events = POLLIN;
		idx[n++] = -1;
		for (i = 0; i < RELAY_MAX_CONN; i++) {
			struct relay_conn *f = &flows[i];
			double due;

			if (!f->used)
				continue;
			if (now - f->last_active > RELAY_UDP_IDLE &&
			    f->d[0].head == NULL && f->d[1].head == NULL) {
				relay_close(f, 1);
				continue;
			}
			for (int j = 0; j < 2; j++) {
				due = relay_next_due(&f->d[j]);
				if (due > 0 && (next == 0 || due < next))
					next = due;
			}
			pfd[n].fd = f->fd[1];
			pfd[n].events = POLLIN;
			idx[n++] = i;
		}
		wait = next > 0 ? (next - now) * 1e3 : 1000;
		if (wait < 0)
			wait = 0;
		if (poll(pfd, (nfds_t)n, (int)(wait + 0.999)) < 0 &&
		    errno != EINTR)
			return;
		now = clock_now();
		if (pfd[0].revents & POLLIN) {
			for (;;) {
				flen = sizeof(from);
				r = recvfrom(lfd, buf, sizeof(buf), 0,
				    (struct sockaddr *)&from, &flen);
				if (r < 0)
					break;
				for (i = 0; i < RELAY_MAX_CONN; i++)
					if (flows[i].used && flows[i].from.
					    sin_port == from.sin_port &&
					    flows[i].from.sin_addr.s_addr ==
					    from.sin_addr.s_addr)
						break;
				if (i == RELAY_MAX_CONN) {
					for (i = 0; i < RELAY_MAX_CONN &&
					    flows[i].used; i++)
						;
					if (i == RELAY_MAX_CONN)
						continue;
					memset(&flows[i], 0, sizeof(flows[i]));
					flows[i].used = 1;
					flows[i].from = from;
					flows[i].fd[0] = lfd;
					flows[i].fd[1] = socket(AF_INET,
					    SOCK_DGRAM, 0);
					if (flows[i].fd[1] < 0 || connect(
					    flows[i].fd[1], (const struct
					    sockaddr *)to, sizeof(*to)) != 0) {
						relay_close(&flows[i], 1);
						continue;
					}
					relay_nonblock(flows[i].fd[1]);
				}
				flows[i].last_active = now;
				if (flows[i].d[0].queued < RELAY_QUEUE_MAX)
					relay_enqueue(&flows[i].d[0], buf,
					    (size_t)r, now);
			}
		}
		for (i = 1; i < n; i++) {
			struct relay_conn *f = &flows[idx[i]];

			if (!(pfd[i].revents & POLLIN) || !f->used)
				continue;
			while ((r = recv(f->fd[1], buf, sizeof(buf), 0)) >= 0) {
				f->last_active = now;
				if (f->d[1].queued < RELAY_QUEUE_MAX)
					relay_enqueue(&f->d[1], buf, (size_t)r,
					    now);
			}
		}
		/* Datagrams due go out whole; one lost is lost. */
		for (i = 0; i < RELAY_MAX_CONN; i++) {
			struct relay_conn *f = &flows[i];
			struct relay_chunk *c;

			if (!f->used)
				continue;
			while ((c = f->d[0].head) != NULL && c->due <= now) {
				send(f->fd[1], c->data, c->len, 0);
				f->d[0].head = c->next;
				f->d[0].queued -= c->len;
				free(c);
			}
			if (f->d[0].head == NULL)
				f->d[0].tail = NULL;
			while ((c = f->d[1].head) != NULL && c->due <= now) {
				sendto(lfd, c->data, c->len, 0,
				    (const struct sockaddr *)&f->from,
				    sizeof(f->from));
				f->d[1].head = c->next;
				f->d[1].queued -= c->len;
				free(c);
			}
			if (f->d[1].head == NULL)
				f->d[1].tail = NULL;
		}
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "to", required_argument, NULL, 't' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "jitter-ms", required_argument, NULL, 'j' },
		{ "udp", no_argument, NULL, 'u' },
		{ "port-file", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_in listen_sa, to_sa;
	const char *listen_s = NULL, *to_s = NULL, *port_file = NULL;
	const char *errstr;
	int ch, udp = 0, lfd;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			listen_s = optarg;
			break;
		case 't':
			to_s = optarg;
			break;
		case 'd':
			relay_delay = (double)parse_uint(optarg, 0, 60000,
			    &errstr) / 1e3;
			if (errstr != NULL)
				usage();
			break;
		case 'j':
			relay_jitter = (double)parse_uint(optarg, 0, 60000,
			    &errstr) / 1e3;
			if (errstr != NULL)
				usage();
			break;
		case 'u':
			udp = 1;
			break;
		case 'p':
			port_file = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || listen_s == NULL || to_s == NULL)
		usage();
	if (relay_parse_addr(listen_s, &listen_sa) != 0 ||
	    relay_parse_addr(to_s, &to_sa) != 0) {
		fprintf(stderr, "delay-relay: addresses are IPv4 ADDR:PORT\n");
		return 2;
	}
	relay_rng ^= (uint64_t)getpid() << 17;
	signal(SIGPIPE, SIG_IGN);
	if ((lfd = relay_listen(&listen_sa, udp, port_file)) < 0) {
		fprintf(stderr, "delay-relay: cannot listen on '%s': %s\n",
		    listen_s, strerror(errno));
		return 1;
	}
	if (udp)
		relay_udp(lfd, &to_sa);
	else
		relay_tcp(lfd, &to_sa);
	return 1;
}
