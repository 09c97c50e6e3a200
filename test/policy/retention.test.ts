import { Retention } from '../../src';

describe('Retention', () => {
  test('gfs renders restic forget flags in a fixed order', () => {
    // WHEN
    const retention = Retention.gfs({ monthly: 12, daily: 7, weekly: 4, last: 3 });
    // THEN
    expect(retention.forgetArguments).toEqual(['--keep-last', '3', '--keep-daily', '7', '--keep-weekly', '4', '--keep-monthly', '12']);
  });

  test.each([
    ['standard', Retention.standard(), 372],
    ['frequent', Retention.frequent(), 28],
    ['longTerm', Retention.longTerm(), 7 * 366],
    ['keepLast', Retention.keepLast(5), 0],
    ['hourly only', Retention.gfs({ hourly: 36 }), 2],
  ])('%s reaches back %d days', (_name, retention, days) => {
    expect(retention.horizonDays).toBe(days);
  });
});
