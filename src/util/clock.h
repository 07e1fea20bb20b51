/*
 * The one monotonic clock every module measures with: seconds as a double,
 * unaffected by changes to the wall clock.
 */
#ifndef SWARM_UTIL_CLOCK_H
#define SWARM_UTIL_CLOCK_H

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
double	clock_now(void);
/* Sleeps that many seconds, through interrupting signals. */
void	clock_sleep(double seconds);

#endif
