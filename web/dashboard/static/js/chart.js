// The header's chart: done (completed) and failed per bucket, over the last hour (a bar a
// minute), day (a bar per 15 minutes) or 30 days (a bar per 6 hours), drawn on a canvas. The
// server's history (GET …/history: per minute kept a day, per hour kept 30 days) is the
// truth, read when the range is chosen and after a gap in the events; live events add to the
// newest bars in between. Bounded by construction: one range's bars, whatever the event rate.

export const RANGES = {
  hour: { label: "per minute, last hour", bucket: 60, bars: 60, step: "minute", count: 60 },
  day: { label: "per 15 minutes, last day", bucket: 900, bars: 96, step: "minute", count: 1440 },
  month: { label: "per 6 hours, last 30 days", bucket: 21600, bars: 120, step: "hour", count: 720 },
};

export class Throughput {
  constructor(canvas) {
    this.canvas = canvas;
    this.range = RANGES.hour;
    this.reset();
  }

  /** Forget every count (another queue or range is shown). */
  reset() {
    this.bins = new Map(); // bucket (unix seconds / range.bucket) -> {done, failed}
    this.known = Infinity; // first bucket the server's history covers
  }

  setRange(name) {
    this.range = RANGES[name];
    this.reset();
  }

  bucket(timestamp) { return Math.floor(timestamp / this.range.bucket); }

  #bin(bucket) {
    let bin = this.bins.get(bucket);
    if (!bin) {
      bin = { done: 0, failed: 0 };
      this.bins.set(bucket, bin);
      const oldest = this.bucket(Date.now() / 1000) - this.range.bars;
      for (const key of this.bins.keys()) if (key < oldest) this.bins.delete(key);
    }
    return bin;
  }

  /** The server's history (`step`-second buckets from `start`) replaces what the page had
   * counted for the bars it covers: it counted every process's jobs, the page only saw
   * events while it was open. */
  seed(history) {
    const totals = new Map();
    history.completed.forEach((done, i) => {
      const bucket = this.bucket(history.start + i * history.step);
      const t = totals.get(bucket) || { done: 0, failed: 0 };
      t.done += done;
      t.failed += history.failed[i];
      totals.set(bucket, t);
    });
    for (const [bucket, t] of totals) Object.assign(this.#bin(bucket), t);
    this.known = Math.min(this.known, this.bucket(history.start));
  }

  add(timestamp, kind) {
    this.#bin(this.bucket(timestamp))[kind] += 1;
  }

  draw() {
    const { canvas, range } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(100, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(40, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const style = getComputedStyle(document.documentElement);
    const colors = {
      done: style.getPropertyValue("--ok").trim(),
      failed: style.getPropertyValue("--dead").trim(),
      line: style.getPropertyValue("--line").trim(),
      muted: style.getPropertyValue("--muted").trim(),
    };
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, width, height);
    const now = this.bucket(Date.now() / 1000);
    let peak = 1;
    for (let b = now - range.bars + 1; b <= now; b++) {
      const bin = this.bins.get(b);
      if (bin) peak = Math.max(peak, bin.done + bin.failed);
    }
    const top = 14 * ratio;
    const slot = width / range.bars;
    const bar = Math.max(1, slot - Math.max(1, ratio));
    ctx.fillStyle = colors.line;
    ctx.fillRect(0, height - 1, width, 1);
    for (let i = 0; i < range.bars; i++) {
      const bucket = now - range.bars + 1 + i;
      const x = i * slot;
      if (bucket < this.known) {
        ctx.fillStyle = colors.line;
        ctx.fillRect(x, height - 3 * ratio, bar, 2 * ratio);
        continue;
      }
      const bin = this.bins.get(bucket);
      if (!bin) continue;
      const scale = (height - top) / peak;
      const hd = bin.done * scale;
      const hf = bin.failed * scale;
      ctx.fillStyle = colors.done;
      ctx.fillRect(x, height - hd, bar, hd);
      ctx.fillStyle = colors.failed;
      ctx.fillRect(x, height - hd - hf, bar, hf);
    }
    ctx.fillStyle = colors.muted;
    ctx.font = `${11 * ratio}px system-ui, sans-serif`;
    ctx.textAlign = "left";
    ctx.fillText(`${peak.toLocaleString("en-US")} / bar`, 2 * ratio, 11 * ratio);
    ctx.textAlign = "right";
    ctx.fillText("now", width - 2 * ratio, 11 * ratio);
  }
}
