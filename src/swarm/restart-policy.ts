/**
 * How the tasks of every service this library makes restart: whatever ended them, 5 s later,
 * as Docker does by default (the provider sends an unset delay or window as 0: restarts at
 * once).
 */
export const RESTART_POLICY = { condition: 'any', delay: '5s', window: '60s' };
