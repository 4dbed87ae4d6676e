/** The logger kafkajs' internal modules take, silent: the tests below drive those modules without a client. */
export interface Logger { debug(): void; info(): void; warn(): void; error(): void; namespace(): Logger }

export const logger: Logger = { debug() {}, info() {}, warn() {}, error() {}, namespace: () => logger };
