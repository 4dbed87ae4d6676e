/**
 * Writes Fashion-MNIST test images as files and optionally uploads them:
 *   npx tsx scripts/samples/cli.ts data/samples/mixed --kind mixed --count 2000 [--upload samples/mixed]
 */
import { parseArgs } from 'node:util';
import { EnvReader } from '../../platform/config.ts';
import { createS3Client, readS3Settings } from '../../platform/s3.ts';
import { uploadSamples } from './upload-samples.ts';
import { writeSamples, type SampleKind } from './write-samples.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { kind: { type: 'string', default: 'mixed' }, count: { type: 'string', default: '2000' }, offset: { type: 'string', default: '0' }, upload: { type: 'string' } },
});
const dir = positionals[0];
const kind = values.kind as SampleKind;
if (!dir || !['lossless', 'mixed', 'dark', 'invert'].includes(kind)) {
  process.stderr.write('usage: scripts/samples/cli.ts OUT_DIR [--kind lossless|mixed|dark|invert] [--count N] [--offset N] [--upload S3_PREFIX]\n');
  process.exit(2);
}
const set = await writeSamples(dir, kind, Number(values.count), Number(values.offset));
process.stdout.write(`${set.samples.length} images in ${dir} (labels.csv)\n`);
if (values.upload) {
  const env = new EnvReader();
  const s3Settings = readS3Settings(env);
  env.done();
  const uris = await uploadSamples(createS3Client(s3Settings), s3Settings.bucket, values.upload, set);
  process.stdout.write(`uploaded to s3://${s3Settings.bucket}/${values.upload}/ (${uris.size} objects)\n`);
}
