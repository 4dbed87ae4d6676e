/**
 * Who writes for each input partition, per ownership. An ownership is the group generation since which this member
 * has held the partition without interruption (GroupTracker.ownedSince): a partition kept across a rejoin keeps its
 * ownership and its writer; one assigned anew gets a newer ownership and a fresh writer, since someone else may
 * have written for it meanwhile.
 *
 * Claims of one key run one at a time (two writers initialising one transactional id fence each other), and the
 * newest ownership wins: a claim for an older one is refused; one superseded or released while it waits never opens
 * (so it fences nobody, least of all the partition's new owner), and one superseded while it opens closes its
 * writer instead of keeping it. Pure coordination: opening and closing writers is injected.
 */
import { SystemicError } from '../errors.ts';

export interface Opened<T> {
  writer: T;
  /** The committed offset read after taking over, below which records are done (undefined: nothing to skip). */
  committed: bigint | undefined;
}

export interface Held<T> extends Opened<T> {
  ownership: number;
}

/**
 * Opens a writer for the key. `stillWanted` throws ClaimSuperseded once the claim is no longer wanted: call it
 * between steps that reach the broker, and close the writer before passing on whatever is thrown.
 */
export type Opener<T> = (stillWanted: () => void) => Promise<Opened<T>>;

/** A claim given up for a newer ownership of its partition, or for the partition's release. */
export class ClaimSuperseded extends SystemicError {
  constructor(key: string, ownership: number) {
    super('broker', `the claim of ${key} for ownership ${ownership} was superseded (a newer assignment, or the partition was revoked)`);
  }
}

interface Attempt<T> {
  ownership: number;
  result: Promise<Held<T>>;
  /** Set once the claim succeeded and its writer is held. */
  held?: Held<T>;
}

export class Claims<T> {
  /** The newest claim of each key: in flight, or succeeded and held. */
  private readonly attempts = new Map<string, Attempt<T>>();
  private readonly held = new Map<string, Held<T>>();
  /** The newest ownership claimed per key, kept after a release: an older claim arriving late is refused. */
  private readonly newest = new Map<string, number>();
  /** The last claim of each key still running, even one given up: the next claim starts after it. */
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(private readonly close: (writer: T) => Promise<void>) {}

  /** The writer held for the key, whatever its ownership. */
  get(key: string): Held<T> | undefined {
    return this.held.get(key);
  }

  /** Keys claimed or being claimed. */
  keys(): string[] {
    return [...new Set([...this.attempts.keys(), ...this.held.keys()])];
  }

  claim(key: string, ownership: number, open: Opener<T>): Promise<Held<T>> {
    const latest = this.attempts.get(key);
    if (latest?.ownership === ownership) return latest.result;
    if ((this.newest.get(key) ?? ownership) > ownership) return Promise.reject(new ClaimSuperseded(key, ownership));
    this.newest.set(key, ownership);
    const stillWanted = (): void => {
      if (this.attempts.get(key) !== attempt) throw new ClaimSuperseded(key, ownership);
    };
    const previous = this.running.get(key);
    const run = async (): Promise<Held<T>> => {
      await previous?.catch(() => undefined); // always yields first: `attempt` is set by then
      stillWanted();
      await this.drop(key); // the writer of an earlier ownership
      const opened = await open(stillWanted);
      if (this.attempts.get(key) !== attempt) {
        await this.close(opened.writer);
        throw new ClaimSuperseded(key, ownership);
      }
      const held: Held<T> = { ...opened, ownership };
      attempt.held = held;
      this.held.set(key, held);
      return held;
    };
    const attempt: Attempt<T> = { ownership, result: run() };
    this.attempts.set(key, attempt);
    const settled = attempt.result.catch(() => undefined);
    this.running.set(key, settled);
    void settled.then(() => {
      if (this.running.get(key) === settled) this.running.delete(key);
    });
    // A failed claim is forgotten, so that the next claim of the same ownership tries again.
    attempt.result.catch(() => {
      if (this.attempts.get(key) === attempt) this.attempts.delete(key);
    });
    return attempt.result;
  }

  /**
   * Records that `held`'s writer committed everything below `next`, so that a later claim of the same ownership
   * skips it. kafkajs reads the group's committed offsets again on every rejoin, and right after a commit they can
   * still be older ones (the broker writes the offsets' transaction markers after it answers EndTxn, later still
   * when a coordinator moves): a partition kept across that rejoin is then fetched again from before what its writer
   * already committed, and without this, committed again (duplicates after a broker SIGKILL on three brokers).
   */
  advance(held: Held<T>, next: bigint): void {
    if (held.committed === undefined || next > held.committed) held.committed = next;
  }

  /**
   * Gives up the writer `held` (one that failed: the next claim opens a new one, even for the same ownership); a
   * no-op when a newer writer has replaced it meanwhile.
   */
  async discard(key: string, held: Held<T>): Promise<void> {
    if (this.held.get(key) !== held) return;
    this.held.delete(key);
    if (this.attempts.get(key)?.held === held) this.attempts.delete(key);
    await this.close(held.writer);
  }

  /** The partition is no longer this member's: its writer is closed, and a claim in flight gives up. */
  async release(key: string): Promise<void> {
    this.attempts.delete(key);
    await this.drop(key);
  }

  /** Releases every key and waits for claims in flight to close what they opened. */
  async releaseAll(): Promise<void> {
    const inFlight = [...this.running.values()];
    await Promise.all(this.keys().map((key) => this.release(key)));
    await Promise.all(inFlight);
  }

  private async drop(key: string): Promise<void> {
    const held = this.held.get(key);
    if (!held) return;
    this.held.delete(key);
    await this.close(held.writer);
  }
}
