/** Rate limits of a socket (messages per second, bad messages). */

/** A token bucket: `capacity` at once, `perSecond` sustained. */
export class Bucket {
  private tokens: number;
  private at = Date.now();
  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
  ) {
    this.tokens = capacity;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
