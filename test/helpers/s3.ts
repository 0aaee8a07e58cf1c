import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { S3Client } from '../../src/storage/s3-client';
import { parseS3Options } from '../../src/storage/s3-store';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver');

/**
 * An S3 endpoint for tests. With DEPOT_TEST_S3_ENDPOINT (and _BUCKET, _ACCESS_KEY_ID,
 * _SECRET_ACCESS_KEY, optional _REGION) that store is used (the bucket is created if missing), e.g.
 * a single-node Swift with s3api; otherwise an in-process s3rver on 127.0.0.1 (fixed credentials S3RVER/S3RVER),
 * in a fresh directory. s3rver lacks AbortMultipartUpload and ListMultipartUploads (objectstore.md
 * §0.4); the driver tolerates that, and those paths are only exercised against a real store.
 */
export interface TestS3 {
  options: Record<string, unknown>;
  close(): Promise<void>;
}

export async function startTestS3(prefix = `t-${Math.random().toString(36).slice(2, 8)}/`): Promise<TestS3> {
  const env = process.env;
  if (env.DEPOT_TEST_S3_ENDPOINT) {
    const options = {
      driver: 's3',
      endpoint: env.DEPOT_TEST_S3_ENDPOINT,
      bucket: env.DEPOT_TEST_S3_BUCKET ?? 'depot',
      region: env.DEPOT_TEST_S3_REGION ?? 'us-east-1',
      accessKeyId: env.DEPOT_TEST_S3_ACCESS_KEY_ID,
      secretAccessKey: env.DEPOT_TEST_S3_SECRET_ACCESS_KEY,
      forcePathStyle: true,
      prefix,
    };
    const client = new S3Client(parseS3Options(options));
    await client.discard({ method: 'PUT', operation: 'CreateBucket', ok: [200, 409] });
    return {
      options,
      // Each run uses its own prefix; what it left is removed.
      close: async () => {
        for await (const o of client.list(prefix)) await client.delete(o.key);
        for await (const u of client.listMultipart(prefix)) await client.abortMultipart(u.key, u.uploadId);
        client.close();
      },
    };
  }
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory, silent: true, configureBuckets: [{ name: 'depot' }] });
  const addr: AddressInfo = await server.run();
  return {
    options: {
      driver: 's3',
      endpoint: `http://127.0.0.1:${addr.port}`,
      bucket: 'depot',
      region: 'us-east-1',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      forcePathStyle: true,
      prefix,
    },
    close: async () => {
      await server.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
