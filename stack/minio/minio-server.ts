import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { BucketAlreadyOwnedByYou, CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

import {
  IMAGES_BUCKET,
  LOCAL_STACK_ENV,
  LOOPBACK,
  MINIO_CONSOLE_PORT,
  MINIO_PORT,
  MINIO_ROOT_PASSWORD,
  MINIO_ROOT_USER,
} from '../endpoints.ts';
import { httpStatus } from '../health.ts';
import { GO } from '../prerequisites.ts';
import { runLogged } from '../run-logged.ts';
import type { LocalServer, ServerContext } from '../server.ts';

/**
 * MinIO publishes no semver tags (its releases are tagged RELEASE.<date>), so the Go module proxy knows it only
 * by pseudo-versions; this one is the head of master on 2026-02-12, which builds with Go 1.26.
 */
export const MINIO_MODULE_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';

const installDir = (ctx: ServerContext) => join(ctx.cacheDir, `minio-${MINIO_MODULE_VERSION}`);
const binary = (ctx: ServerContext) => join(installDir(ctx), 'bin', 'minio');
const dataDir = (ctx: ServerContext) => join(ctx.stateDir, 'data');

export const minioServer: LocalServer = {
  name: 'minio',
  title: `MinIO (${MINIO_MODULE_VERSION})`,
  listens: [`S3 API ${LOCAL_STACK_ENV.S3_ENDPOINT}`, `console http://${LOOPBACK}:${MINIO_CONSOLE_PORT}`],
  startupTimeoutMs: 60_000,
  stopGraceMs: 10_000,
  runTools: [],
  installTools: [GO],

  processMarker: (ctx) => dataDir(ctx),

  // `go install` writes the binary only when the build succeeded.
  isInstalled: (ctx) => existsSync(binary(ctx)),

  async install(ctx) {
    ctx.progress(`minio: building github.com/minio/minio@${MINIO_MODULE_VERSION} with Go (several minutes on 2 cores)`);
    await runLogged(
      {
        command: 'go',
        args: ['install', `github.com/minio/minio@${MINIO_MODULE_VERSION}`],
        env: { GOBIN: join(installDir(ctx), 'bin') },
      },
      join(ctx.stateDir, 'install.log'),
      ctx.progress,
      'minio: still building',
    );
  },

  async prepare(ctx) {
    mkdirSync(dataDir(ctx), { recursive: true });
    return {
      command: binary(ctx),
      args: [
        'server',
        dataDir(ctx),
        '--address',
        `${LOOPBACK}:${MINIO_PORT}`,
        '--console-address',
        `${LOOPBACK}:${MINIO_CONSOLE_PORT}`,
      ],
      env: {
        MINIO_ROOT_USER,
        MINIO_ROOT_PASSWORD,
        // Offline machines: no update checks.
        MINIO_UPDATE: 'off',
      },
    };
  },

  isHealthy: async () => (await httpStatus(`${LOCAL_STACK_ENV.S3_ENDPOINT}/minio/health/ready`)) === 200,

  async afterHealthy(ctx) {
    const s3 = new S3Client({
      endpoint: LOCAL_STACK_ENV.S3_ENDPOINT,
      region: LOCAL_STACK_ENV.S3_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: MINIO_ROOT_USER, secretAccessKey: MINIO_ROOT_PASSWORD },
    });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: IMAGES_BUCKET }));
      ctx.progress(`minio: created bucket ${IMAGES_BUCKET}`);
    } catch (error) {
      if (!(error instanceof BucketAlreadyOwnedByYou)) throw error;
    } finally {
      s3.destroy();
    }
  },
};
