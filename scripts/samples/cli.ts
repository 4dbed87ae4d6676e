/**
 * Writes Fashion-MNIST test images as files and optionally uploads them:
 *   npm run samples -- data/samples/mixed --kind mixed --count 2000 [--upload samples/mixed]
 */
import { exitWithUsage, parseCommandLine } from '../../platform/cli-args.ts';
import { EnvReader } from '../../platform/config.ts';
import { createS3Client, readS3Settings } from '../../platform/s3.ts';
import { uploadSamples } from './upload-samples.ts';
import { writeSamples, type SampleKind } from './write-samples.ts';

const KINDS: readonly SampleKind[] = ['lossless', 'mixed', 'dark', 'invert'];
const USAGE = `usage: npm run samples -- OUT_DIR [--kind ${KINDS.join('|')}] [--count N] [--offset N] [--upload S3_PREFIX]
Writes --count Fashion-MNIST test images (from --offset) into OUT_DIR with a labels.csv, and with --upload
copies them under S3_PREFIX of the S3_BUCKET bucket.
examples:
  npm run samples -- data/samples/mixed --kind mixed --count 2000
  npm run samples -- data/samples/dark --kind dark --count 500 --upload samples/dark`;

const { values, positionals } = parseCommandLine(USAGE, {
  allowPositionals: true,
  options: { kind: { type: 'string', default: 'mixed' }, count: { type: 'string', default: '2000' }, offset: { type: 'string', default: '0' }, upload: { type: 'string' } },
});
const dir = positionals[0];
const kind = values.kind as SampleKind;
if (!dir || positionals.length > 1) exitWithUsage(USAGE, 'name one output directory');
if (!KINDS.includes(kind)) exitWithUsage(USAGE, `--kind must be one of ${KINDS.join(', ')}, got "${kind}"`);
const set = await writeSamples(dir, kind, Number(values.count), Number(values.offset));
process.stdout.write(`${set.samples.length} images in ${dir} (labels.csv)\n`);
if (values.upload) {
  const env = new EnvReader();
  const s3Settings = readS3Settings(env);
  env.done();
  const uris = await uploadSamples(createS3Client(s3Settings), s3Settings.bucket, values.upload, set);
  process.stdout.write(`uploaded to s3://${s3Settings.bucket}/${values.upload}/ (${uris.size} objects)\n`);
}
