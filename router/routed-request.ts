import type { ImageRequest } from '../producers/image-request.ts';

/** The RoutedRequest value (schemas/routed-request.avsc). */
export interface RoutedRequest extends ImageRequest {
  model_version: string;
  experiment_id: string | null;
  rule_id: string | null;
  shadow: boolean;
  routed_at: number;
  /** Served by the rule's fallback because the chosen version was down; absent in records written before the field. */
  fallback?: boolean;
}
