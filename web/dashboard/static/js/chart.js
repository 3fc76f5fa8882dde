// Throughput of the last hour, per minute: done (completed) and failed, drawn on a canvas.
// Bounded by construction: sixty bins, whatever the event rate.

const MINUTES = 60;

export class Throughput {
  constructor(canvas) {
    this.canvas = canvas;
    this.bins = new Map(); // minute (unix seconds / 60) -> {done, failed}
    this.known = Infinity; // first minute with data
  }

  minute(timestamp) { return Math.floor(timestamp / 60); }

  /** Forget every count (another queue is shown). */
  reset() {
    this.bins.clear();
    this.known = Infinity;
  }

  bin(minute) {
    let bin = this.bins.get(minute);
    if (!bin) {
      bin = { done: 0, failed: 0 };
      this.bins.set(minute, bin);
      const oldest = this.minute(Date.now() / 1000) - MINUTES;
      for (const key of this.bins.keys()) if (key < oldest) this.bins.delete(key);
    }
    return bin;
  }

  /** Seed from the server's per-second series (oldest first, ending at `now`); replaces
   * what the page counted for those minutes, so a reconnect never double counts. */
  seed(now, completed, failed) {
    const totals = new Map();
    const count = Math.max(completed.length, failed.length);
    for (let i = 0; i < count; i++) {
      const minute = this.minute(now - (count - 1 - i));
      const t = totals.get(minute) || { done: 0, failed: 0 };
      t.done += completed[i] || 0;
      t.failed += failed[i] || 0;
      totals.set(minute, t);
    }
    const first = Math.min(...totals.keys());
    for (const [minute, t] of totals) {
      // The first minute of the series is partial: keep the larger of the two counts.
      const bin = this.bin(minute);
      if (minute === first) {
        bin.done = Math.max(bin.done, t.done);
        bin.failed = Math.max(bin.failed, t.failed);
      } else {
        bin.done = t.done;
        bin.failed = t.failed;
      }
    }
    this.known = Math.min(this.known, first);
  }

  add(timestamp, kind) {
    const minute = this.minute(timestamp);
    this.bin(minute)[kind] += 1;
    this.known = Math.min(this.known, minute);
  }

  draw() {
    const canvas = this.canvas;
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
    const now = this.minute(Date.now() / 1000);
    let peak = 1;
    for (let m = now - MINUTES + 1; m <= now; m++) {
      const bin = this.bins.get(m);
      if (bin) peak = Math.max(peak, bin.done + bin.failed);
    }
    const top = 14 * ratio;
    const slot = width / MINUTES;
    const bar = Math.max(1, slot - Math.max(1, ratio));
    ctx.fillStyle = colors.line;
    ctx.fillRect(0, height - 1, width, 1);
    for (let i = 0; i < MINUTES; i++) {
      const minute = now - MINUTES + 1 + i;
      const x = i * slot;
      if (minute < this.known) {
        ctx.fillStyle = colors.line;
        ctx.fillRect(x, height - 3 * ratio, bar, 2 * ratio);
        continue;
      }
      const bin = this.bins.get(minute);
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
    ctx.fillText(`${peak.toLocaleString("en-US")}/min`, 2 * ratio, 11 * ratio);
    ctx.textAlign = "right";
    ctx.fillText("now", width - 2 * ratio, 11 * ratio);
  }
}
