import { Schedule, Verification } from '../../src';

describe('Verification', () => {
  test.each([
    ['daily', Schedule.daily(), 28, 28],
    ['every 6 hours', Schedule.everyHours(6), 28, 112],
    ['every 15 minutes', Schedule.everyMinutes(15), 1, 96],
    // Mon-Fri: the longest gap is Friday to Monday (3 days), so 28 days hold at least 9 checks.
    ['weekdays only', Schedule.cron('0 2 * * 1-5'), 28, 9],
    ['weekly, within 3 days', Schedule.weekly(), 3, 1],
    // 672 hourly checks in 28 days, but restic refuses t > 256: 256 subsets are read in 256 hours.
    ['hourly', Schedule.hourly(), 28, 256],
    ['every minute', Schedule.cron('* * * * *'), 28, 256],
  ])('checks %s: read all data within %d days in %d subsets', (_name, checkSchedule, days, subsets) => {
    expect(Verification.readBack({ readAllDataWithinDays: days, checkSchedule }).readDataSubsets()).toBe(subsets);
  });

  test('GIVEN no check schedule THEN the structure is checked daily at 03:00, and 28 days are read in 28 subsets', () => {
    const verification = Verification.standard();
    expect(verification.checkSchedule.expression).toBe('0 3 * * *');
    expect(verification.readDataSubsets()).toBe(28);
  });

  test('structure only reads no data back, on its own check schedule', () => {
    expect(Verification.structureOnly().readDataSubsets()).toBe(0);
    expect(Verification.structureOnly({ checkSchedule: Schedule.weekly() }).checkSchedule.expression).toBe('0 2 * * 0');
  });
});
