import { Schedule, WeekDay } from '../../src';

describe('Schedule', () => {
  test.each([
    ['daily default', () => Schedule.daily(), '0 2 * * *', 86400],
    ['daily 23:45', () => Schedule.daily({ hour: 23, minute: 45 }), '45 23 * * *', 86400],
    ['hourly at :15', () => Schedule.hourly({ minute: 15 }), '15 * * * *', 3600],
    ['weekly on friday', () => Schedule.weekly({ weekDay: WeekDay.FRIDAY, hour: 3 }), '0 3 * * 5', 7 * 86400],
    ['every 15 minutes', () => Schedule.everyMinutes(15), '*/15 * * * *', 900],
    ['every 6 hours', () => Schedule.everyHours(6), '0 */6 * * *', 6 * 3600],
    ['cron with list and range', () => Schedule.cron('0 1,13 * * 1-5'), '0 1,13 * * 1-5', 3 * 86400 - 12 * 3600],
    ['cron, extra spaces normalised', () => Schedule.cron('  30  4 * *   *'), '30 4 * * *', 86400],
    ['day-of-week 7 is Sunday', () => Schedule.cron('0 0 * * 7'), '0 0 * * 7', 7 * 86400],
  ])('%s', (_name, make, expression, gap) => {
    // WHEN
    const schedule = make();
    // THEN
    expect(schedule.expression).toBe(expression);
    expect(schedule.maxIntervalSeconds).toBe(gap);
  });

  test('day-of-month and day-of-week together match either (classic cron)', () => {
    // 1st of the month OR every Monday: never more than 7 days apart
    expect(Schedule.cron('0 0 1 * 1').maxIntervalSeconds).toBeLessThanOrEqual(7 * 86400);
  });

  test('monthly on the 31st skips short months', () => {
    // 31 Jan -> 31 Mar is the longest gap (59 or 60 days)
    expect(Schedule.cron('0 0 31 * *').maxIntervalSeconds).toBe(61 * 86400);
  });
});
