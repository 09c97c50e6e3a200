/** Where a quiesce command writes its dump, read from the command (src/policy/dump-output.ts). */
import { dumpOutputOf } from '../../src/policy/dump-output';

describe('dumpOutputOf', () => {
  test.each([
    [['pg_dumpall', '-U', 'postgres', '-f', '/var/lib/postgresql/data/dump.sql'], '/var/lib/postgresql/data/dump.sql'],
    [['pg_dump', '-Fc', '-f/data/db.dump', 'app'], '/data/db.dump'],
    [['/usr/bin/pg_dump', '--file=/data/db.sql', 'app'], '/data/db.sql'],
    [['pg_dump', '--file', '/data/db.sql', 'app'], '/data/db.sql'],
    [['mysqldump', '--all-databases', '--result-file=/var/lib/mysql/dump.sql'], '/var/lib/mysql/dump.sql'],
    [['mariadb-dump', '-r', '/var/lib/mysql/dump.sql', '--all-databases'], '/var/lib/mysql/dump.sql'],
    [['mongodump', '--out=/data/db/dump'], '/data/db/dump'],
    [['mongodump', '-o', '/data/db/dump'], '/data/db/dump'],
    [['mongodump', '--archive=/data/db/dump.archive', '--gzip'], '/data/db/dump.archive'],
    [['sh', '-c', 'pg_dumpall -U postgres > /var/lib/postgresql/data/dump.sql'], '/var/lib/postgresql/data/dump.sql'],
    [['sh', '-c', "pg_dump -U 'app user' app | gzip > '/data/app dump.sql.gz'"], '/data/app dump.sql.gz'],
    [['/bin/sh', '-c', 'pg_dump -f /data/x.sql app && sync'], '/data/x.sql'],
  ])('%j writes %s', (command, output) => {
    expect(dumpOutputOf(command)).toBe(output);
  });

  test.each([
    [['redis-cli', 'SAVE']],
    [['pg_dumpall', '-U', 'postgres']],
    [['mongodump', '--archive']],
    [['sh', '-c', 'pg_dumpall > "$DUMP_FILE"']],
    [['sh', '-c', 'pg_dumpall > /a.sql; pg_dumpall > /b.sql']],
    [['sh', '-c', 'pg_dumpall | tee /b.sql']],
    [['sh', '-c', 'echo "unterminated']],
  ])('%j: unknown', (command) => {
    expect(dumpOutputOf(command)).toBeUndefined();
  });
});
