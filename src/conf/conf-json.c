/*
 * A config key as JSON (conf-json.h).
 */
#include <stdlib.h>

#include <jansson.h>

#include "conf/conf-json.h"
#include "conf/conf.h"
#include "conf/schema.h"

/* The value as JSON of its type: number, boolean, array, string or null. */
static json_t *
conf_json_value(const struct conf *c, const struct schema_key *k)
{
	char *const *list;
	json_t *a;
	size_t i, n;

	if (conf_get(c, k->name, NULL) == NULL)
		return json_null();
	switch (k->type) {
	case SCHEMA_INT:
		return json_integer(conf_get_int(c, k->name));
	case SCHEMA_FLOAT:
		return json_real(conf_get_float(c, k->name));
	case SCHEMA_BOOL:
		return json_boolean(conf_get_bool(c, k->name));
	case SCHEMA_LIST:
		a = json_array();
		list = conf_get_list(c, k->name, &n);
		for (i = 0; i < n; i++)
			json_array_append_new(a, json_string(list[i]));
		return a;
	case SCHEMA_STRING:
	case SCHEMA_HOSTPORT:
		break;
	}
	return json_string(conf_get(c, k->name, NULL));
}

json_t *
conf_json_key(const struct conf *c, const struct schema_key *k, int full)
{
	enum conf_source src;
	json_t *o = json_object();
	char *env;

	conf_get(c, k->name, &src);
	json_object_set_new(o, "key", json_string(k->name));
	json_object_set_new(o, "value", conf_json_value(c, k));
	json_object_set_new(o, "source", json_string(conf_source_name(src)));
	json_object_set_new(o, "type", json_string(schema_type_name(k->type)));
	if (full) {
		json_object_set_new(o, "default",
		    k->def != NULL ? json_string(k->def) : json_null());
		env = conf_env_name(k->name);
		json_object_set_new(o, "env", json_string(env));
		free(env);
		json_object_set_new(o, "help", json_string(k->help));
		if (k->type == SCHEMA_INT) {
			json_object_set_new(o, "min", json_integer((json_int_t)k->min));
			json_object_set_new(o, "max", json_integer((json_int_t)k->max));
		} else if (k->type == SCHEMA_FLOAT) {
			json_object_set_new(o, "min", json_real(k->min));
			json_object_set_new(o, "max", json_real(k->max));
		}
	}
	return o;
}
