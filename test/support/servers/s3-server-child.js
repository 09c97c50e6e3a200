/**
 * The S3 server program of the tests (see s3-server.ts), one for both places it runs:
 * - on the host, as a child of the jest worker (`startS3Server` in s3-server.ts);
 * - in a container on the test engine, standing in for an AWS S3 endpoint
 *   (`startS3InEngine` in engine/s3-stand-in.ts), with the host's node in the image.
 *
 * Plain JavaScript (no TypeScript, no build) so the same file runs in both. Always started with
 * `node --openssl-legacy-provider` (s3rver's ListObjectsV2 continuation tokens use DES: see
 * s3-server.ts). Reads a JSON config (argv[2]):
 *   { s3rverDir, address, port, dataDir, keyPath, certPath, bucket, accessKeyId, secretAccessKey }
 * revokes s3rver's built-in `S3RVER` key, adds the given one, creates the bucket, listens over
 * TLS and prints `{"port": N}` on one line of stdout once it listens. SIGTERM closes it.
 *
 * Both S3 addressing styles work with s3rver's default `serviceEndpoint` ('amazonaws.com'):
 * its vhost middleware (s3rver 3.7.1, lib/middleware/vhost.js) matches the Host header against
 * `^(?:(.+)\.)?s3(-website)?([-.].+)?\.amazonaws\.com$`, so `s3.<region>.amazonaws.com/<bucket>/key`
 * (path style) and `<bucket>.s3.<region>.amazonaws.com/key` (virtual-host style, what minio-go
 * uses for AWS endpoints) reach the same bucket.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const S3rver = require(cfg.s3rverDir);
const AWSAccount = require(path.join(cfg.s3rverDir, 'lib', 'models', 'account'));
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(cfg.accessKeyId, cfg.secretAccessKey);
const server = new S3rver({
  address: cfg.address || '127.0.0.1',
  port: cfg.port,
  silent: true,
  directory: cfg.dataDir,
  key: fs.readFileSync(cfg.keyPath),
  cert: fs.readFileSync(cfg.certPath),
  configureBuckets: [{ name: cfg.bucket }],
});
server.run().then(
  (address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\n'),
  (err) => {
    process.stderr.write(String((err && err.stack) || err) + '\n');
    process.exit(1);
  },
);
process.on('SIGTERM', () => server.close().then(() => process.exit(0), () => process.exit(1)));
