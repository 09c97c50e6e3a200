import { Schedule, Verification } from '../../src';

describe('Verification', () => {
  test.each([
    ['daily', Schedule.daily(), 28, 28],
    ['every 6 hours', Schedule.everyHours(6), 28, 112],
    ['every 15 minutes', Schedule.everyMinutes(15), 1, 96],
    // Mon-Fri: the longest gap is Friday to Monday (3 days), so 28 days hold at least 9 cycles.
    ['weekdays only', Schedule.cron('0 2 * * 1-5'), 28, 9],
    ['weekly, within 3 days', Schedule.weekly(), 3, 1],
    // 672 hourly cycles in 28 days, but restic refuses t > 256: 256 subsets are read in 256 hours.
    ['hourly', Schedule.hourly(), 28, 256],
    ['every minute', Schedule.cron('* * * * *'), 28, 256],
  ])('%s: read all data within %d days in %d subsets', (_name, schedule, days, subsets) => {
    expect(Verification.readBack({ readAllDataWithinDays: days }).readDataSubsets(schedule)).toBe(subsets);
  });

  test('structure only reads no data back', () => {
    expect(Verification.structureOnly().readDataSubsets(Schedule.daily())).toBe(0);
  });
});
