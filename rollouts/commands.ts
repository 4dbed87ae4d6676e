import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import type { AvroSerde } from '../platform/schema-registry.ts';
import type { CommandAction, RolloutCommand } from './machine.ts';
import type { RolloutSpec } from './spec.ts';

export function newCommand(action: CommandAction, rolloutId: string, issuedBy: string | null, spec?: RolloutSpec): RolloutCommand {
  return {
    command_id: randomUUID(),
    rollout_id: rolloutId,
    action,
    spec_json: spec ? JSON.stringify(spec) : null,
    issued_by: issuedBy,
    issued_at: Date.now(),
  };
}

/** Publishes a command (acks=all); the controller answers with a decision carrying its command_id. */
export async function sendCommand(producer: Producer, serde: AvroSerde, topic: string, command: RolloutCommand): Promise<void> {
  await producer.send({ topic, acks: -1, messages: [{ key: command.rollout_id, value: await serde.encode(topic, 'RolloutCommand', command) }] });
}
