/**
 * Literal credentials inside longer values: what is found (and masked), and what is not (a
 * reference or an environment variable in the password's place, a user without a password).
 */
import { Lazy, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { ProtectedService } from '../src';
import { literalCredentialIn, maskedUrl, urlHasUserInfo } from '../src/core/literal-credentials';

const reference = () => new TerraformVariable(new TerraformStack(Testing.app(), 's'), 'pw', { type: 'string', sensitive: true }).stringValue;

describe('literalCredentialIn', () => {
  test.each([
    ['postgres://gitea:hunter2@db:5432/gitea', 'a literal password inside a URL', 'postgres://gitea:***@db:5432/gitea'],
    ['amqp://guest:guest@rabbit/', 'a literal password inside a URL', 'amqp://guest:***@rabbit/'],
    ['Server=db;User Id=sa;Password=hunter2;', 'a literal password in a connection string', 'Server=db;User Id=sa;Password=***;'],
    ['host=db user=app pwd=hunter2 dbname=app', 'a literal password in a connection string', 'host=db user=app pwd=***'.concat(' dbname=app')],
    ['--password=hunter2', 'a literal password in a connection string', '--password=***'],
    ['jdbc:sqlserver://db;user=sa;password="hun;ter2"', 'a literal password in a connection string', 'jdbc:sqlserver://db;user=sa;password=***'],
    ['https://x/api?user=a&password=hunter2', 'a literal password in a connection string', 'https://x/api?user=a&password=***'],
  ])('%s: found, masked', (value, what, masked) => {
    expect(literalCredentialIn(value)).toEqual({ what, masked });
  });

  test.each([
    ['a reference in the password\'s place', () => `postgres://gitea:${reference()}@db/gitea`],
    ['a reference as the whole Password=', () => `Server=db;Password=${reference()};`],
    ['an environment variable the container resolves', () => 'postgres://gitea:$PGPASSWORD@db/gitea'],
    ['an environment variable in braces', () => 'Password=${DB_PASSWORD}'],
    ['a user without a password', () => 'https://git@github.com/acme/repo'],
    ['an empty password', () => 'Password=;Server=db'],
    ['a value with no credential', () => 'redis://cache:6379/0'],
    ['a --password-file option', () => '--password-file=/run/secrets/db'],
    ['a whole value that is a reference', () => Lazy.stringValue({ produce: () => 'postgres://u:p@h' })],
  ])('%s: nothing found', (_name, value) => {
    expect(literalCredentialIn(value())).toBeUndefined();
  });
});

test('urlHasUserInfo and maskedUrl: user info before the host only, the password masked', () => {
  expect(urlHasUserInfo('https://alice:pw@host/path')).toBe(true);
  expect(urlHasUserInfo('https://alice@host')).toBe(true);
  expect(urlHasUserInfo('https://host/path@v1')).toBe(false);
  expect(urlHasUserInfo(`https://${reference()}`)).toBe(false);
  expect(maskedUrl('https://alice:pw@host:8000/x')).toBe('https://alice:***@host:8000/x');
  expect(maskedUrl(`https://alice:${reference()}@host`)).toBe('https://alice:***@host');
});

test('a swarm service\'s environment and command get the same check', () => {
  // GIVEN
  const stack = new TerraformStack(Testing.app(), 'swarm');
  // WHEN / THEN
  expect(() => new ProtectedService(stack, 'web', { image: 'app:1', command: ['--db', 'postgres://app:hunter2@db/app'] })).toThrow(
    'swarm/web: command argument 2 holds a literal password inside a URL (postgres://app:***@db/app)',
  );
  expect(() => new ProtectedService(stack, 'web2', { image: 'app:1', environment: { DSN: 'Server=db;Pwd=hunter2' } })).toThrow(
    'swarm/web2: the environment variable DSN holds a literal password in a connection string (Server=db;Pwd=***)',
  );
});
