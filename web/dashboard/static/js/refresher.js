// Run a fetch-and-render at most once per `gap` ms, one at a time; a request that comes
// while one runs is remembered and served right after (so the last state always shows).

export class Refresher {
  constructor(run, gap) {
    this.run = run;
    this.gap = gap;
    this.running = false;
    this.again = false;
    this.timer = 0;
    this.last = -Infinity;
  }

  request() {
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    const wait = Math.max(0, this.last + this.gap - performance.now());
    this.timer = setTimeout(() => this.go(), wait);
  }

  async go() {
    this.timer = 0;
    this.running = true;
    this.last = performance.now();
    try {
      await this.run();
    } catch (error) {
      if (error && error.status !== 401) console.warn("refresh failed:", error.message || error);
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.request();
      }
    }
  }
}
