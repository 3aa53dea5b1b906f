import type { TokenVerifier } from '../auth/verifier.js';
import type { Config } from '../config/schema.js';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../log.js';
import type { StreamWaiter } from '../sync/changes.js';
import type { Membership } from '../sync/membership.js';
import type { Processor } from '../sync/processor.js';
import type { Reads } from '../sync/reads.js';
import type { PhotoCleanup, Users } from '../sync/users.js';
import type { Metrics } from '../metrics.js';

/** Everything the HTTP layer calls; built once by `src/server.ts` (and by tests). */
export interface Services {
  config: Config;
  log: Logger;
  sql: Sql;
  verifier: TokenVerifier;
  processor: Processor;
  membership: Membership;
  reads: Reads;
  users: Users;
  metrics: Metrics;
  waiter: StreamWaiter;
  /** Removes a deleted account's photo object; set when S3 is configured. */
  photoCleanup?: PhotoCleanup;
  /** False once shutdown began: /readyz answers 503 so load balancers stop sending traffic. */
  accepting(): boolean;
}
