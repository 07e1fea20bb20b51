/*
 * The one monotonic clock every module measures with: seconds as a double,
 * unaffected by changes to the wall clock; and the wall clock, for times
 * that outlive the process.
 */
#ifndef SWARM_UTIL_CLOCK_H
#define SWARM_UTIL_CLOCK_H

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
double	clock_now(void);
/* The wall clock (CLOCK_REALTIME), seconds since 1970: for times kept
 * beyond the process, in files. */
double	clock_wall(void);
/* Sleeps that many seconds, through interrupting signals. */
void	clock_sleep(double seconds);

#endif
