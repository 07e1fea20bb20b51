/*
 * Token sampling: greedy, temperature, top-k, top-p, min-p and a repetition
 * penalty, driven by a seeded generator so the same seed gives the same text.
 */
#ifndef SWARM_CORE_SAMPLER_H
#define SWARM_CORE_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

struct sampler_params {
	float		temperature;	/* <= 0: greedy */
	int		top_k;		/* <= 0: off */
	float		top_p;		/* >= 1: off */
	float		min_p;		/* <= 0: off */
	float		repeat_penalty;	/* 1: off */
	int		repeat_last_n;	/* tokens the penalty looks back on */
	float		presence_penalty;
	float		frequency_penalty;
	uint64_t	seed;
};

void		 sampler_params_default(struct sampler_params *);

struct sampler;

struct sampler	*sampler_new(const struct sampler_params *, uint32_t n_vocab);
void		 sampler_free(struct sampler *);
/* Picks a token from logits[n_vocab] (the array is modified). */
int32_t		 sampler_sample(struct sampler *, float *logits);
/* Records a token of the context (prompt or generated) for the penalties. */
void		 sampler_accept(struct sampler *, int32_t token);

#endif
