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

  describe('the day rule is the agent\'s (Vixie cron): a day field starting with `*` means both must match', () => {
    test.each([
      // day-of-month starts with `*`: odd days that are Mondays, up to three weeks apart
      ['0 2 */2 * 1', 21 * 86400],
      // neither starts with `*`: either may match, whatever values they allow
      ['0 0 1-31 * 1', 86400],
      ['0 0 1 * 0-6', 86400],
      ['0 0 13 * 5', 7 * 86400],
      // `*,1` starts with `*`: every day of the month AND Monday
      ['0 0 *,1 * 1', 7 * 86400],
      // day-of-week starts with `*`: the 1st when it is a Sunday, Tuesday, Thursday or Saturday
      ['0 0 1 * */2', 153 * 86400],
      // an eight-year window (2024-2031) saw at most 28 days; years starting on a Sunday give 35
      ['0 0 */3 * 1', 35 * 86400],
      // leap days, every four years from 1904 to 2096
      ['0 0 29 2 *', 1461 * 86400],
    ])('%s: at most %d s apart', (expression, gap) => {
      expect(Schedule.cron(expression).maxIntervalSeconds).toBe(gap);
    });

    test('a schedule that never runs is refused', () => {
      expect(() => Schedule.cron('0 0 30 2 *')).toThrow('the expression never runs');
      // the 31st of months with 30 days (day-of-week `*`: both must match): never
      expect(() => Schedule.cron('0 0 31 4,6,9,11 *')).toThrow('the expression never runs');
      // with a restricted day-of-week, either matches: every Monday of those months
      // (the last Monday of November, the 24th, to the first of April, the 6th: 133 days)
      expect(Schedule.cron('0 0 31 4,6,9,11 1').maxIntervalSeconds).toBe(133 * 86400);
    });
  });
});
