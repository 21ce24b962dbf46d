import type { Connector } from '@idra/core';
import { checkKafka, discoverKafka } from './kafka-probe.ts';
import { KafkaDestination } from './kafka-destination.ts';
import { KafkaSource } from './kafka-source.ts';

export { KafkaSource, type KafkaOffsets } from './kafka-source.ts';
export { KafkaDestination } from './kafka-destination.ts';
export { messageKey } from './kafka-keys.ts';
export { resolveKafkaConfig, type KafkaConfig } from './kafka-options.ts';

/** Kafka topics of JSON messages, as a source (`stream` mode) and a destination. */
export const kafkaConnector: Connector = {
  openSource: (ctx) => KafkaSource.open(ctx),
  openDestination: (ctx) => KafkaDestination.open(ctx),
  check: checkKafka,
  discover: discoverKafka,
};
