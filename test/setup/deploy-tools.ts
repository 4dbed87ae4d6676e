/**
 * Global setup of the deploy project: installs the offline validators once (deploy/checks/tools.ts; minutes on a
 * machine that has none cached), so the test files only read the cache.
 */
import { deployTools } from '../../deploy/checks/tools.ts';

export default async function setup(): Promise<void> {
  await deployTools();
}
