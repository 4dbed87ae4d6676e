// Preloaded into the router and the consumer by bench/tracing-cost.ts --profile (NODE_OPTIONS="--import <this>",
// which accepts no --cpu-prof): profiles the main thread as `node --cpu-prof` would and writes
// $CPU_PROFILE_DIR/<pid>.cpuprofile when the process exits, with wallOffsetMs: Date.now() minus the monotonic clock
// the profile's timestamps use, so that a reader can keep the samples of a wall-clock window (cpu-profile.ts).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  // V8 stamps samples with the monotonic clock process.hrtime reads, in microseconds.
  const wallOffsetMs = Date.now() - Number(process.hrtime.bigint() / 1000n) / 1000;
  // A session on the process's own thread answers synchronously, so this runs to the end inside 'exit'.
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify({ ...result.profile, wallOffsetMs }));
    });
  });
}
