export {
  type Acquired,
  bucketId,
  type Quota,
  RateLimiter,
  type RateLimiterOptions,
} from './rate-limiter.js';
