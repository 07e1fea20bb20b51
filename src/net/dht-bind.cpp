/*
 * A C-callable start of an OpenDHT runner on one bound address. The C
 * binding's dht_runner is the C++ dht::DhtRunner behind an opaque name
 * (opendht_c.h), so the runner made by dht_runner_new() is started here
 * through DhtRunner::run() with Config::bind4 or bind6 set, and the rest
 * of the C binding goes on working on it.
 */
#include <cstdio>
#include <exception>

#include <opendht.h>

#include "net/dht-bind.h"

extern "C" int
dht_bind_run(dht_runner *r, const struct sockaddr *addr, socklen_t addr_len,
    uint32_t network, int maintain_storage, char *err, size_t err_len)
{
	auto *runner = reinterpret_cast<dht::DhtRunner *>(r);
	dht::DhtRunner::Config config;

	config.threaded = true;
	config.peer_discovery = false;	/* multicast: never on loopback */
	config.peer_publish = false;
	config.dht_config.node_config.network = network;
	config.dht_config.node_config.maintain_storage = maintain_storage != 0;
	if (addr->sa_family == AF_INET)
		config.bind4 = dht::SockAddr(addr, addr_len);
	else if (addr->sa_family == AF_INET6)
		config.bind6 = dht::SockAddr(addr, addr_len);
	else {
		std::snprintf(err, err_len, "not an IPv4 or IPv6 address");
		return -1;
	}
	try {
		runner->run(config, dht::DhtRunner::Context());
	} catch (const std::exception &e) {
		std::snprintf(err, err_len, "%s", e.what());
		return -1;
	}
	return 0;
}
