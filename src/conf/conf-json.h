/*
 * A config key as `swarm config get --json` and `config list --json` print
 * it: its effective value typed as the schema says, where the value came
 * from, and with full the default, environment variable, help and range.
 */
#ifndef SWARM_CONF_CONF_JSON_H
#define SWARM_CONF_CONF_JSON_H

struct conf;
struct json_t;
struct schema_key;

struct json_t	*conf_json_key(const struct conf *, const struct schema_key *,
		    int full);

#endif
