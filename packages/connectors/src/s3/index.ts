import type { Connector } from '@idra/core';
import { checkS3, discoverS3 } from './s3-probe.ts';
import { S3Destination } from './s3-destination.ts';
import { S3Source } from './s3-source.ts';

export { S3Source, type S3Offset } from './s3-source.ts';
export { S3Destination } from './s3-destination.ts';
export { batchObjectKey } from './s3-objects.ts';
export { resolveS3Config, type S3Config } from './s3-options.ts';

/** Objects in an S3 bucket (JSON Lines or CSV), as a source (`stream` mode) and a destination. */
export const s3Connector: Connector = {
  openSource: (ctx) => S3Source.open(ctx),
  openDestination: (ctx) => S3Destination.open(ctx),
  check: checkS3,
  discover: discoverS3,
};
