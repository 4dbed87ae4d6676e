// Types of rollouts.js (plain JavaScript so the browser loads it without a build step).
import type { RolloutView } from '../../rollouts/controller.ts';

export interface RolloutsView {
  controller_id: string;
  generated_at: number;
  evaluating: boolean;
  rollouts: RolloutView[];
}

export interface RolloutsPollStatus {
  ok: boolean;
  text: string;
  /** Where the panel reads from. */
  source: string;
}

export declare function guardNumber(name: string, x: number | null): string;
export declare function stepStates(rollout: RolloutView): Array<'done' | 'current' | 'failed' | 'pending'>;
export declare function renderRollouts(view: RolloutsView | null, status: RolloutsPollStatus): string;
