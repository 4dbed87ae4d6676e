/** The experiment rule engine: validate a config, compile it once, route each request. */
export { compileExperiment, route, type ExperimentRouter } from './evaluate.ts';
export { BUCKET_COUNT, bucketOf } from './hash-bucket.ts';
export { validateExperimentConfig, type ValidateOptions, type ValidationResult } from './validate.ts';
export type * from './types.ts';
