/** Builders shared by the router unit tests. */
import { validateExperimentConfig } from '../../../router/experiment/validate.ts';
import type { ExperimentConfig, RoutableRequest, RoutingInput } from '../../../router/experiment/types.ts';

export function input(request: Partial<RoutableRequest> = {}, headers: Record<string, string> = {}): RoutingInput {
  return {
    request: {
      request_id: 'req-1',
      uri: 's3://images/a.png',
      stickiness_key: null,
      pinned_version: null,
      source: null,
      metadata: {},
      ...request,
    },
    headers,
  };
}

/** Validates a config in the friendly JSON form and fails the test with the problems if it is invalid. */
export function experiment(friendly: Record<string, unknown>): ExperimentConfig {
  const result = validateExperimentConfig(friendly, { updatedAt: 1_700_000_000_000 });
  if (!result.ok) throw new Error(`invalid test experiment:\n${result.errors.join('\n')}`);
  return result.config;
}
