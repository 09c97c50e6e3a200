import { Retention } from '../../src';

describe('Retention', () => {
  test('gfs renders restic forget flags in a fixed order', () => {
    // WHEN
    const retention = Retention.gfs({ monthly: 12, daily: 7, weekly: 4, last: 3 });
    // THEN
    expect(retention.forgetArguments).toEqual(['--keep-last', '3', '--keep-daily', '7', '--keep-weekly', '4', '--keep-monthly', '12']);
  });

  test.each([
    ['standard', 372, Retention.standard()],
    ['frequent', 28, Retention.frequent()],
    ['longTerm', 7 * 366, Retention.longTerm()],
    ['keepLast', 0, Retention.keepLast(5)],
    ['hourly only', 2, Retention.gfs({ hourly: 36 })],
  ])('%s reaches back %d days', (_name, days, retention) => {
    expect(retention.horizonDays).toBe(days);
  });
});
