/*
 * What OpenDHT's C binding lacks: starting a runner bound to one address.
 * dht_runner_run_config() binds every interface; the C++ DhtRunner takes
 * the addresses to bind, and this shim (dht-bind.cpp) hands them over.
 */
#ifndef SWARM_NET_DHT_BIND_H
#define SWARM_NET_DHT_BIND_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include <opendht/opendht_c.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Runs the runner (threaded, no multicast discovery, no logging) on UDP at
 * addr only, which is an IPv4 or an IPv6 socket address with its port; 0,
 * or -1 with why in err.
 */
int	dht_bind_run(dht_runner *runner, const struct sockaddr *addr,
	    socklen_t addr_len, uint32_t network, int maintain_storage,
	    char *err, size_t err_len);

#ifdef __cplusplus
}
#endif

#endif
