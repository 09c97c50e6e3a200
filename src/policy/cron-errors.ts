/**
 * The error of a cron expression that cron.ts cannot parse or schedule.ts finds never runs.
 * Its own file so that the cron parser, being rewritten (issue 12), keeps only the parsing.
 */
import { ConfigurationError, show } from '../configuration-error';

export function invalidCron(expression: string, reason: string): ConfigurationError {
  return new ConfigurationError(
    `Schedule.cron(${show(expression)})`,
    reason,
    'give five space-separated fields "minute hour day-of-month month day-of-week", e.g. "0 2 * * *" for 02:00 every day, or use Schedule.daily({ hour: 2 })',
  );
}
