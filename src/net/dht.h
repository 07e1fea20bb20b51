/*
 * Our handle on the Kademlia DHT (OpenDHT's C binding). A node runs one on
 * UDP at the same port number as its HTTP listener on TCP, so one host:port
 * names it for both; a client runs a short-lived one on a random port. The
 * OpenDHT calls are asynchronous with callbacks on the DHT's own thread;
 * this wrapper turns get and put into blocking calls with a deadline, so
 * callers never see that thread. Keys are strings, prefixed with the network
 * name, and the network name also selects OpenDHT's network id: swarms with
 * different names neither talk nor share keys.
 */
#ifndef SWARM_NET_DHT_H
#define SWARM_NET_DHT_H

#include <stddef.h>
#include <stdint.h>

/* OpenDHT refuses larger values. */
#define DHT_VALUE_MAX	(64 * 1024)
/* Most values dht_get returns for one key; the rest are dropped. */
#define DHT_GET_MAX	4096

struct dht;

/* The values found under one key, in no particular order. */
struct dht_values {
	size_t		  n;
	uint8_t		**data;
	size_t		 *len;
};

/*
 * Starts a DHT node on UDP port (0: any free port), bound to bind_host
 * only (a node's listen host), or to every interface when bind_host is
 * NULL or a wildcard (clients). network may be NULL or "" for the default
 * network.
 */
struct dht	*dht_new(const char *bind_host, uint16_t port,
		    const char *network, char **cause);
void		 dht_free(struct dht *);
/* The UDP port bound (IPv4). */
uint16_t	 dht_port(const struct dht *);
const char	*dht_network(const struct dht *);

/*
 * Joins the swarm through a known node ("host:port", "[v6]:port"). The node
 * must answer a ping within timeout_ms, else it is not used and this fails:
 * OpenDHT would stall every later operation on it for seconds.
 */
int		 dht_bootstrap(struct dht *, const char *hostport, int timeout_ms,
		    char **cause);

/*
 * Stores a value under key for the DHT's lifetime of values (10 minutes),
 * waiting at most timeout_ms (0: not at all) for the storing nodes to
 * acknowledge. A node
 * alone in its swarm keeps the value itself: that is not an error.
 */
int		 dht_put(struct dht *, const char *key, const void *data,
		    size_t len, int timeout_ms, char **cause);

/*
 * Every value stored under key that the DHT finds within timeout_ms. A
 * timeout is not an error: the values found so far are returned.
 */
int		 dht_get(struct dht *, const char *key, int timeout_ms,
		    struct dht_values *out, char **cause);
void		 dht_values_release(struct dht_values *);

#endif
